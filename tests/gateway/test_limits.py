"""Rate limits and connection caps: the Limits object alone, then over a live server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentstream.gateway.limits import Frame, Limits, RateLimited, RedisLiveRuns, _cluster_redis
from agentstream.gateway.settings import Settings
from tests.conftest import recv_json, recv_run, serve
from tests.gateway.test_streams import counting_app, start
from tests.identities import as_user


def test_the_61st_run_in_a_minute_is_refused_with_retry_after() -> None:
    """Under 60/min, 60 runs pass and the 61st raises rate_limited with a retry in 1..60 s."""
    limits = Limits(Settings(runs_per_minute=60))
    for _ in range(60):
        limits.hit_run("u")
    with pytest.raises(RateLimited) as caught:
        limits.hit_run("u")
    assert caught.value.code == "rate_limited" and caught.value.http_status == 429
    assert 1 <= caught.value.retry_after <= 60
    limits.hit_run("someone else")  # per user: another user is not refused


def test_frames_over_the_rate_are_refused_then_a_flood_is_closed() -> None:
    """With 3/s: three pass, the next three are refused, the one after is a flood."""
    limits = Limits(Settings(frames_per_second=3))
    verdicts = [limits.hit_frame("c") for _ in range(7)]
    assert verdicts == [Frame.OK] * 3 + [Frame.REFUSED] * 3 + [Frame.FLOOD]
    assert limits.hit_frame("other") is Frame.OK


def test_connections_are_capped_per_ip_and_per_user_and_released() -> None:
    """The cap refuses one more per IP and per user; a disconnect frees a place."""
    limits = Limits(Settings(max_connections_per_ip=2, max_connections_per_user=1))
    assert limits.connect("1.1.1.1", "a") is None
    assert "user" in (limits.connect("1.1.1.1", "a") or "")
    assert limits.connect("1.1.1.1", "b") is None
    assert "address" in (limits.connect("1.1.1.1", "c") or "")
    limits.disconnect("1.1.1.1", "a")
    assert limits.connect("1.1.1.1", "a") is None


def test_zero_turns_the_rate_limits_off() -> None:
    """runs_per_minute=0 and frames_per_second=0 never refuse."""
    limits = Limits(Settings(runs_per_minute=0, frames_per_second=0))
    for _ in range(100):
        limits.hit_run("u")
        assert limits.hit_frame("c") is Frame.OK


async def test_a_refused_run_over_the_socket_carries_retry_after_and_request_id() -> None:
    """Under 2/min the third run is an error frame rate_limited with retryAfter and requestId."""
    settings = Settings(model="scripted", runs_per_minute=2)
    with serve(counting_app(), settings) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
            for _ in range(2):
                await ws.send(start(n=1, pause=0))
                assert (await recv_run(ws))[-1]["type"] == "RUN_FINISHED"
            await ws.send(start(n=1, pause=0, requestId="third"))
            refused = await recv_json(ws)
    assert (refused["code"], refused["requestId"]) == ("rate_limited", "third")
    assert 1 <= refused["retryAfter"] <= 60


async def test_a_refused_run_over_http_is_429_with_retry_after() -> None:
    """/api/invoke and /api/runs answer 429 with a Retry-After header once over the limit."""
    settings = Settings(model="scripted", runs_per_minute=1)
    body = {"action": "count", "n": 1, "pause": 0}
    with serve(counting_app(), settings) as live:
        async with httpx.AsyncClient(base_url=live.http) as client:
            first = await client.post("/api/invoke", json=body)
            invoked = await client.post("/api/invoke", json=body)
            started = await client.post("/api/runs", json=body)
    assert first.status_code == 200
    for answer in (invoked, started):
        assert answer.status_code == 429
        assert answer.json()["code"] == "rate_limited"
        assert int(answer.headers["retry-after"]) == answer.json()["retryAfter"] >= 1


async def test_one_connection_too_many_is_refused_before_the_upgrade() -> None:
    """With one socket per user, a second is refused with HTTP 429; after a close one passes."""
    settings = Settings(model="scripted", max_connections_per_user=1)
    with serve(counting_app(), settings) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as first:
            with pytest.raises(InvalidStatus) as caught:
                async with websockets.connect(live.ws, additional_headers=as_user(live, "u")):
                    pass
            await first.send(json.dumps({"action": "ping"}))
            assert (await recv_json(first))["type"] == "pong"
        assert caught.value.response.status_code == 429
        for _ in range(50):  # the server sees the close a moment later
            try:
                async with websockets.connect(
                    live.ws, additional_headers=as_user(live, "u")
                ) as again:
                    await again.send(json.dumps({"action": "ping"}))
                    assert (await recv_json(again))["type"] == "pong"
                break
            except InvalidStatus:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the place was never freed")


async def test_a_frame_flood_gets_error_frames_then_a_1008_close() -> None:
    """Frames over the rate are answered rate_limited; a sustained flood closes with 1008."""
    settings = Settings(model="scripted", frames_per_second=5)
    with serve(counting_app(), settings) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
            for _ in range(40):
                await ws.send(json.dumps({"action": "ping"}))
            frames = []
            with pytest.raises(ConnectionClosed) as caught:
                while True:
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1008
    assert [f["type"] for f in frames[:5]] == ["pong"] * 5
    assert {f.get("code") for f in frames[5:]} == {"rate_limited"}


async def test_an_idle_socket_is_closed_with_1001() -> None:
    """A socket that sends nothing and streams no run is closed after the idle timeout."""
    settings = Settings(model="scripted", idle_timeout_s=0.3)
    with serve(counting_app(), settings) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(ws.recv(), 10)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1001


async def test_a_socket_streaming_a_run_is_not_idle() -> None:
    """A run that streams longer than the idle timeout reaches its end on a silent socket."""
    settings = Settings(model="scripted", idle_timeout_s=0.2)
    with serve(counting_app(), settings) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
            await ws.send(start(n=10, pause=0.06))
            frames = await recv_run(ws)
    assert frames[-1]["type"] == "RUN_FINISHED"


def two_nodes(redis_server: str, **knobs: int) -> tuple[Settings, Settings]:
    """Settings of two app instances on one Redis (one fresh prefix): a cluster of two."""
    store = f"{redis_server}?prefix=l{uuid.uuid4().hex[:8]}:"
    return tuple(Settings(model="scripted", store=store, **knobs) for _ in range(2))  # type: ignore[return-value]


async def test_runs_per_user_are_counted_across_the_cluster(redis_server: str) -> None:
    """Under 2/min, one run on each of two nodes uses the user's budget: a third is refused."""
    one, two = two_nodes(redis_server, runs_per_minute=2)
    with serve(counting_app(), one) as a, serve(counting_app(), two) as b:
        user = as_user(a, "counted")
        for live in (a, b):
            async with websockets.connect(live.ws, additional_headers=user) as ws:
                await ws.send(start(n=1, pause=0))
                assert (await recv_run(ws))[-1]["type"] == "RUN_FINISHED"
        async with websockets.connect(a.ws, additional_headers=user) as ws:
            await ws.send(start(n=1, pause=0, requestId="third"))
            refused = await recv_json(ws)
        assert (refused["code"], refused["requestId"]) == ("rate_limited", "third")
        async with websockets.connect(b.ws, additional_headers=as_user(b, "other")) as ws:
            await ws.send(start(n=1, pause=0))  # per user: someone else still passes
            assert (await recv_run(ws))[-1]["type"] == "RUN_FINISHED"


async def test_open_sockets_per_user_are_counted_across_the_cluster(redis_server: str) -> None:
    """With 2 sockets per user, one open on each node refuses a third on either; a close frees."""
    one, two = two_nodes(redis_server, max_connections_per_user=2)
    with serve(counting_app(), one) as a, serve(counting_app(), two) as b:
        user = as_user(a, "sockets")
        async with websockets.connect(a.ws, additional_headers=user):
            async with websockets.connect(b.ws, additional_headers=user):
                with pytest.raises(InvalidStatus) as caught:
                    async with websockets.connect(a.ws, additional_headers=user):
                        pass
                assert caught.value.response.status_code == 429
        for _ in range(50):  # the servers see the closes a moment later
            try:
                async with websockets.connect(b.ws, additional_headers=user) as again:
                    await again.send(json.dumps({"action": "ping"}))
                    assert (await recv_json(again))["type"] == "pong"
                break
            except InvalidStatus:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the places were never freed")


def test_a_one_process_store_keeps_counts_in_memory() -> None:
    """Without a Redis store nothing is shared: counts are this process's own."""
    assert _cluster_redis("sqlite:///tmp/x.db") is None and _cluster_redis(None) is None
    assert _cluster_redis("redis://h:1/2?prefix=p:&lease=3") == ("redis://h:1/2", "p:", 3.0)


async def test_live_runs_per_user_are_capped_across_the_cluster(redis_server: str) -> None:
    """With 2 live runs per user, one running on each node refuses a third on either, even
    after several leases (the heartbeat renews the slots); an ended run frees its slot."""
    store = f"{redis_server}?prefix=l{uuid.uuid4().hex[:8]}:&lease=0.6"
    one, two = (Settings(model="scripted", store=store, max_active_runs_per_user=2) for _ in "ab")
    with serve(counting_app(), one) as a, serve(counting_app(), two) as b:
        user = as_user(a, "capped")
        async with (
            websockets.connect(a.ws, additional_headers=user) as on_a,
            websockets.connect(b.ws, additional_headers=user) as on_b,
        ):
            await on_a.send(start(n=400, pause=0.02))
            await on_b.send(start(n=400, pause=0.02))
            first = (await recv_json(on_a))["runId"]
            await recv_json(on_b)
            await asyncio.sleep(2.0)  # three leases: the slots live only if renewed
            for ws in (on_a, on_b):
                await ws.send(start(n=1, pause=0, requestId="third"))
                refused = await recv_json(ws)
                while refused.get("requestId") != "third":
                    refused = await recv_json(ws)
                assert refused["code"] == "too_many_runs", refused
            await on_a.send(json.dumps({"action": "cancel", "runId": first}))
            for _ in range(100):  # the cancelled run ends a moment later and gives its slot back
                await on_b.send(start(n=1, pause=0, requestId="again"))
                frame = await recv_json(on_b)
                while frame.get("requestId") != "again" and frame.get("type") != "RUN_STARTED":
                    frame = await recv_json(on_b)
                if frame.get("code") != "too_many_runs":
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the cancelled run never gave its slot back")
            assert frame["type"] == "RUN_STARTED"


def test_a_dead_nodes_live_run_slots_expire_after_a_lease(redis_server: str) -> None:
    """Slots nobody renews (their node was killed) stop counting after one lease."""
    live = RedisLiveRuns(redis_server, f"d{uuid.uuid4().hex[:8]}:", lease_s=0.2)
    assert live.take("u", "r1", 2) is None and live.take("u", "r2", 2) is None
    assert live.take("u", "r3", 2) == 2
    assert live.take("other", "r4", 2) is None  # per user
    for _ in range(100):
        if live.take("u", "r3", 2) is None:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the unrenewed slots never expired")
    live.release("u", "r3")
    assert live.take("u", "r5", 2) is None
