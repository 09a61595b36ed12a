"""Reliable streams over real sockets: resume, cancel, ownership, muxing, SSE."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from pydantic import BaseModel

from agentstream.gateway.context import RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk, ToolCallChunk
from agentstream.stores import open_store
from tests.conftest import LiveServer, recv_json, recv_run, serve
from tests.identities import as_user


class Count(BaseModel):
    n: int = 20
    pause: float = 0.001
    size: int = 1
    burst: bool = False  # publish every event without yielding (as a fast model's batch)


def counting_app() -> AgentApp:
    app = AgentApp(name="count", dialect="agentstream")

    @app.run("count", Count)
    async def count(request: Count, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            if not request.burst:
                await asyncio.sleep(request.pause)
            if i == request.n // 2:
                yield ToolCallChunk(tool_call_id=f"t{i}", tool_call_name="half", delta="{}")
            yield TextMessageChunk(delta=f"{i:04d}" + "x" * (request.size - 1), message_id="m")
        yield RunFinished(result={"n": request.n})

    return app


@pytest.fixture
def live() -> Iterator[LiveServer]:
    with serve(
        counting_app(), Settings(model="scripted", detach_grace_s=5, send_queue_frames=256)
    ) as server:
        yield server


def start(n: int = 20, pause: float = 0.001, size: int = 1, **extra: Any) -> str:
    return json.dumps({"action": "count", "n": n, "pause": pause, "size": size, **extra})


async def full_log(live: LiveServer, user: str, run_id: str) -> list[dict[str, Any]]:
    """Every frame of a finished run, by resuming from seq 0."""
    async with websockets.connect(live.ws, additional_headers=as_user(live, user)) as ws:
        await ws.send(json.dumps({"action": "resume", "runId": run_id, "lastSeq": 0}))
        answer = await recv_json(ws)
        assert answer["state"] == "finished"
        return await recv_run(ws)


async def chaos_client(live: LiveServer, index: int, rng: random.Random) -> tuple[list, list, int]:
    """Start a run, get dropped at random moments, resume on new connections until the end."""
    user = f"user{index}"
    drops = 0
    seen: list[dict[str, Any]] = []
    ws = await websockets.connect(live.ws, additional_headers=as_user(live, user))
    await ws.send(start(n=rng.randint(5, 60), pause=rng.choice([0, 0.001, 0.003])))
    run_id = None
    for _ in range(rng.randint(0, 3)):  # drops
        for _ in range(rng.randint(0, 25)):
            frame = await recv_json(ws)
            if frame.get("type") == "resume":
                continue
            run_id = frame["runId"]
            seen.append(frame)
            if frame["type"] in ("RUN_FINISHED", "RUN_ERROR"):
                break
        if seen and seen[-1]["type"] in ("RUN_FINISHED", "RUN_ERROR"):
            break
        if run_id is None:
            continue
        ws.transport.abort()  # a dropped network, not a polite close
        drops += 1
        ws = await websockets.connect(live.ws, additional_headers=as_user(live, user))
        await ws.send(
            json.dumps(
                {"action": "resume", "runId": run_id, "lastSeq": seen[-1]["seq"] if seen else 0}
            )
        )
    while not seen or seen[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
        frame = await recv_json(ws)
        if frame.get("type") != "resume":
            run_id = frame["runId"]
            seen.append(frame)
    await ws.close()
    return seen, await full_log(live, user, run_id or ""), drops


async def test_chaos_200_dropped_clients_each_get_every_event_exactly_once(
    live: LiveServer,
) -> None:
    """200 runs whose clients drop at random and resume elsewhere each end with exactly the log."""
    rng = random.Random(20261121)
    limit = asyncio.Semaphore(25)

    async def one(i: int) -> tuple[list, list, int]:
        async with limit:
            return await chaos_client(live, i, random.Random(rng.random()))

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 240)
    for seen, log, _ in results:
        assert [f["seq"] for f in seen] == list(range(1, len(seen) + 1))
        assert seen == log
    assert sum(drops for *_, drops in results) > 150  # the chaos really happened


async def test_coalesce_auto_merges_waiting_text_and_covers_every_seq(live: LiveServer) -> None:
    """?coalesce=auto turns a burst into fewer frames whose firstSeq..seq leave no seq out."""
    hdrs = as_user(live, "merger")
    runs = []
    for query in ("?coalesce=auto", ""):
        async with websockets.connect(live.ws + query, additional_headers=hdrs) as ws:
            await ws.send(start(n=100, burst=True))  # under half the outbox: not "behind"
            runs.append(await recv_run(ws))
    merged, plain = runs
    assert len(plain) == 103 and not any("firstSeq" in f for f in plain)
    assert [f["seq"] for f in plain] == list(range(1, 104))
    assert len(merged) < 10
    covered = 0
    for frame in merged:
        assert frame.get("firstSeq", frame["seq"]) == covered + 1
        covered = frame["seq"]
    assert covered == 103 and merged[-1]["type"] == "RUN_FINISHED"

    def text(frames: list[dict[str, Any]]) -> str:
        return "".join(f["delta"] for f in frames if f["type"] == "TEXT_MESSAGE_CHUNK")

    assert text(merged) == text(plain) and len(text(plain)) == 100 * 4


async def test_cancel_stops_the_run_with_a_cancelled_error(live: LiveServer) -> None:
    """cancel ends the run with code 'cancelled' and no text after it; a second cancel says so."""
    async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
        await ws.send(start(n=100_000, pause=0.001))
        first = await recv_json(ws)
        await ws.send(json.dumps({"action": "cancel", "runId": first["runId"]}))
        frames = [first]
        answers = []
        while True:
            frame = await recv_json(ws)
            (answers if frame["type"] == "cancel" else frames).append(frame)
            if frame["type"] == "RUN_ERROR":
                break
        assert frames[-1]["code"] == "cancelled"
        assert answers[0]["state"] == "cancelling"
        assert len(frames) < 5000
        await ws.send(json.dumps({"action": "cancel", "runId": first["runId"]}))
        again = await recv_json(ws)
        assert again["type"] == "cancel" and again["state"] == "cancelled"


async def test_another_user_cannot_resume_or_cancel_a_run(live: LiveServer) -> None:
    """Resume or cancel by anyone but the owner gets the same answer as an unknown run id."""
    async with (
        websockets.connect(live.ws, additional_headers=as_user(live, "alice")) as alice,
        websockets.connect(live.ws, additional_headers=as_user(live, "mallory")) as mallory,
    ):
        await alice.send(start(n=200, pause=0.005))
        run_id = (await recv_json(alice))["runId"]
        for action in ("resume", "cancel"):
            await mallory.send(json.dumps({"action": action, "runId": run_id, "lastSeq": 0}))
            theirs = await recv_json(mallory)
            await mallory.send(json.dumps({"action": action, "runId": "run_nope", "lastSeq": 0}))
            unknown = await recv_json(mallory)
            assert theirs["state"] == unknown["state"] == "unknown"
        frames = await recv_run(alice)
        assert frames[-1]["type"] == "RUN_FINISHED"


async def test_several_runs_share_one_connection(live: LiveServer) -> None:
    """Two runs on one socket interleave; each frame names its run; each run's seq is gap-free."""
    async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
        await ws.send(start(n=30, pause=0.002, requestId="a"))
        await ws.send(start(n=30, pause=0.002, requestId="b"))
        runs: dict[str, list[int]] = {}
        done = 0
        while done < 2:
            frame = await recv_json(ws)
            runs.setdefault(frame["runId"], []).append(frame["seq"])
            done += frame["type"] == "RUN_FINISHED"
    assert len(runs) == 2
    for seqs in runs.values():
        assert seqs == list(range(1, len(seqs) + 1))


async def test_resume_of_a_finished_run_replays_and_says_finished(live: LiveServer) -> None:
    """Resuming after the end replays the missed tail and answers 'finished'."""
    async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
        await ws.send(start(n=10))
        frames = await recv_run(ws)
    async with websockets.connect(live.ws, additional_headers=as_user(live, "u")) as ws:
        await ws.send(json.dumps({"action": "resume", "runId": frames[0]["runId"], "lastSeq": 5}))
        answer = await recv_json(ws)
        rest = await recv_run(ws)
    assert answer["state"] == "finished"
    assert rest == frames[5:]


async def test_sse_resumes_from_last_event_id_exactly_once(live: LiveServer) -> None:
    """An SSE client that reconnects with Last-Event-ID gets the rest of the run exactly once."""
    async with httpx.AsyncClient(base_url=live.http, timeout=30) as client:
        started = await client.post(
            "/api/runs",
            content=start(n=40, pause=0.002),
            headers={"content-type": "application/json"},
        )
        assert started.status_code == 201
        url = started.json()["events"]
        first: list[tuple[int, dict[str, Any]]] = []
        async with client.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for event in sse_events(response):
                first.append(event)
                if len(first) == 12:
                    break
        rest: list[tuple[int, dict[str, Any]]] = []
        async with client.stream("GET", url, headers={"Last-Event-ID": str(first[-1][0])}) as r:
            async for event in sse_events(r):
                rest.append(event)
        other = await client.get(started.json()["events"], headers=as_user(live, "someone-else"))
    ids = [i for i, _ in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-1][1]["type"] == "RUN_FINISHED" and rest[-1][1]["result"] == {"n": 40}
    assert first[0][1]["type"] == "RUN_STARTED" and first[0][1]["threadId"]
    assert other.status_code == 404


async def wait_until(condition: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    event_id, data = 0, ""
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield event_id, json.loads(data)
            data = ""


async def test_a_run_survives_a_server_restart_in_the_store(tmp_path: Any) -> None:
    """After a restart, resume replays a finished run from the store, and strangers see nothing."""
    settings = Settings(model="scripted", store=f"sqlite:///{tmp_path}/runs.db")
    with serve(counting_app(), settings) as first:
        async with websockets.connect(first.ws, additional_headers=as_user(first, "u")) as ws:
            await ws.send(start(n=15))
            frames = await recv_run(ws)
        async with open_store(settings.store) as reader:  # a second reader of the same file
            await wait_until_async(reader, frames[0]["runId"])
    with serve(counting_app(), Settings(model="scripted", store=settings.store)) as second:
        async with websockets.connect(second.ws, additional_headers=as_user(second, "u")) as ws:
            await ws.send(
                json.dumps({"action": "resume", "runId": frames[0]["runId"], "lastSeq": 4})
            )
            answer = await recv_json(ws)
            rest = await recv_run(ws)
        async with websockets.connect(second.ws, additional_headers=as_user(second, "eve")) as ws:
            await ws.send(
                json.dumps({"action": "resume", "runId": frames[0]["runId"], "lastSeq": 0})
            )
            stranger = await recv_json(ws)
    assert answer["state"] == "finished"
    assert rest == frames[4:]
    assert stranger["state"] == "unknown"


async def wait_until_async(store: Any, run_id: str) -> None:
    for _ in range(200):
        row = await store.get_run(run_id)
        if row is not None and row.state == "finished":
            return
        await asyncio.sleep(0.025)
    raise TimeoutError("the run was not recorded as finished")


async def test_connections_are_recorded_on_connect_and_removed_on_disconnect(tmp_path: Any) -> None:
    """$connect writes the connection row (id, user) to the store; $disconnect deletes it."""
    settings = Settings(model="scripted", store=f"sqlite:///{tmp_path}/conns.db")
    with serve(counting_app(), settings) as live:
        async with open_store(settings.store) as reader:
            async with websockets.connect(live.ws, additional_headers=as_user(live, "carol")) as ws:
                await ws.send(json.dumps({"action": "ping"}))
                await recv_json(ws)
                for _ in range(200):  # written beside the socket, not before the first answer
                    if rows := await reader.list_connections("carol"):
                        break
                    await asyncio.sleep(0.01)
            assert len(rows) == 1 and rows[0].user_id == "carol"
            assert rows[0].meta == {"dialect": "agentstream"}
            for _ in range(200):
                if not await reader.list_connections("carol"):
                    break
                await asyncio.sleep(0.01)
            assert await reader.list_connections("carol") == []
