"""/metrics: Prometheus text that parses, and counters that move by the right amounts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from agentstream.gateway.app import create_app
from agentstream.gateway.context import RouteContext
from agentstream.gateway.metrics import Metrics
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk, ToolCallChunk
from tests.conftest import LiveServer, recv_json, recv_run, serve


class Count(BaseModel):
    n: int = 5
    pause: float = 0.0
    fail: bool = False
    tools: bool = False


def metered_app(name: str = "metered") -> AgentApp:
    app = AgentApp(name=name, dialect="agentstream")

    @app.run("count", Count)
    async def count(request: Count, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            if request.tools:  # no await between them: they all arrive before the writer runs
                yield ToolCallChunk(tool_call_id=f"t{i}", tool_call_name="x")
                continue
            await asyncio.sleep(request.pause)
            yield TextMessageChunk(delta=f"w{i} ", message_id="m")
        if request.fail:
            raise ValueError("scripted failure")
        yield RunFinished(result={"n": request.n})

    return app


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(live: LiveServer) -> Samples:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{live.http}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def scripted_session(live: LiveServer) -> tuple[int, float]:
    """One connection: a finished run, a failed run, a cancelled run. Returns frames received."""
    frames = 0
    async with websockets.connect(live.ws) as ws:
        during = await scrape(live)
        await ws.send(json.dumps({"action": "count", "n": 5}))
        frames += len(await recv_run(ws))
        await ws.send(json.dumps({"action": "count", "n": 3, "fail": True}))
        frames += len(await recv_run(ws))
        await ws.send(json.dumps({"action": "count", "n": 1000, "pause": 0.01}))
        first = await recv_json(ws)
        frames += 1
        await ws.send(json.dumps({"action": "cancel", "runId": first["runId"]}))
        while True:
            frame = await recv_json(ws)
            frames += 1
            if frame["type"] == "RUN_ERROR":
                break
    return frames, value(during, "agentstream_connections_active")


async def test_counters_move_by_the_right_amounts_over_a_scripted_run() -> None:
    """Connections, frames sent, runs by state and the first-event count follow what happened."""
    settings = Settings(model="scripted", store="sqlite://:memory:", runs_per_minute=0)
    with serve(metered_app(), settings) as live:
        before = await scrape(live)
        frames, connections_during = await scripted_session(live)
        await asyncio.sleep(0.5)  # the recorder's last batch and the socket close settle
        after = await scrape(live)
    assert value(before, "agentstream_connections_active") == 0
    assert connections_during == 1
    assert value(after, "agentstream_connections_active") == 0
    assert value(after, "agentstream_runs_active") == 0
    assert moved(before, after, "agentstream_events_sent_total", dialect="agentstream") == frames
    for state in ("finished", "failed", "cancelled"):
        assert moved(before, after, "agentstream_runs_total", app="metered", state=state) == 1
    assert moved(before, after, "agentstream_first_event_seconds_count") == 3
    assert moved(before, after, "agentstream_run_seconds_count") == 3
    # Runs share the recorder's batches: at least one write, at most one per run and batch.
    assert moved(before, after, "agentstream_store_write_seconds_count") >= 1
    assert value(after, "agentstream_event_latency_seconds_count") >= 1
    assert ("agentstream_model_tokens_total", (("kind", "generated"),)) in after


def test_two_apps_in_one_process_keep_separate_registries() -> None:
    """Two gateways in one process each count only their own runs (no global registry)."""
    first = create_app(metered_app("one"), Settings(model="scripted", store="none"))
    second = create_app(metered_app("two"), Settings(model="scripted", store="none"))
    a: Metrics = first.state.gateway.metrics
    b: Metrics = second.state.gateway.metrics
    a.runs_total.labels("one", "finished").inc()
    assert b'agentstream_runs_total{app="one"' in a.render()
    assert b'app="one"' not in b.render()


def test_sent_frames_are_counted_per_dialect() -> None:
    """sent() adds the batch size to the dialect's counter; written() at seq 1 counts a first."""
    metrics = Metrics("x")
    metrics.sent("agentstream", 3)
    metrics.sent("agentstream", 2)
    metrics.sent("calledit", 1)
    metrics.written(1, 10.0, 10.5)
    metrics.written(2, 10.0, 10.5)
    text = metrics.render().decode()
    samples: dict[Any, float] = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert samples[("agentstream_events_sent_total", (("dialect", "agentstream"),))] == 5
    assert samples[("agentstream_events_sent_total", (("dialect", "calledit"),))] == 1
    assert samples[("agentstream_first_event_seconds_count", ())] == 1
    assert samples[("agentstream_event_latency_seconds_count", ())] == 2


async def test_a_client_closed_for_a_full_queue_is_counted_once() -> None:
    """A burst of frames that never merge overflows a small queue: 1013, and the counter +1."""
    settings = Settings(model="scripted", store="none", send_queue_frames=8, runs_per_minute=0)
    with serve(metered_app(), settings) as live:
        before = await scrape(live)
        async with websockets.connect(live.ws) as ws:
            await ws.send(json.dumps({"action": "count", "n": 50, "tools": True}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await recv_json(ws)
        after = await scrape(live)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    assert moved(before, after, "agentstream_slow_client_closes_total") == 1


async def test_sse_frames_are_counted_as_sent_in_their_dialect() -> None:
    """A run read over SSE moves events_sent{dialect} by the frames the stream carried."""
    settings = Settings(model="scripted", runs_per_minute=0)
    with serve(metered_app(), settings) as live:
        before = await scrape(live)
        async with httpx.AsyncClient(base_url=live.http, timeout=10) as client:
            started = await client.post("/api/runs", json={"action": "count", "n": 4})
            body = (await client.get(started.json()["events"])).text
        after = await scrape(live)
    frames = body.count("\ndata: ")
    assert frames == 6  # RUN_STARTED, four deltas, RUN_FINISHED
    # SSE speaks AG-UI unless ?dialect= says otherwise.
    assert moved(before, after, "agentstream_events_sent_total", dialect="ag-ui") == frames


async def test_a_resume_from_zero_is_not_a_second_first_event() -> None:
    """Replaying a finished run to a new socket leaves the first-event count where it was."""
    settings = Settings(model="scripted", runs_per_minute=0)
    with serve(metered_app(), settings) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(json.dumps({"action": "count", "n": 3}))
            run_id = (await recv_run(ws))[0]["runId"]
            cookie = ws.response.headers.get("set-cookie", "").split(";")[0]
        before = await scrape(live)
        async with websockets.connect(live.ws, additional_headers={"Cookie": cookie}) as ws:
            await ws.send(json.dumps({"action": "resume", "runId": run_id, "lastSeq": 0}))
            assert (await recv_json(ws))["state"] == "finished"
            replay = await recv_run(ws)
        after = await scrape(live)
    assert [f["seq"] for f in replay] == [1, 2, 3, 4, 5]
    assert moved(before, after, "agentstream_first_event_seconds_count") == 0
    assert moved(before, after, "agentstream_events_sent_total", dialect="agentstream") == 6
