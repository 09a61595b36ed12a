"""agentstream.mount: CalledIt inside FastAPI, over a real socket, sharing its lifespan."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from fastapi import FastAPI
from starlette.applications import Starlette

from agentstream import Settings, mount
from agentstream.apps import load_app
from tests.conftest import recv_run, serve_asgi

MAKECALL = {"action": "makecall", "prompt": "It will rain in Paris tomorrow", "timezone": "UTC"}


def _host(events: list[str]) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        events.append("host up")
        yield
        events.append("host down")

    host = FastAPI(lifespan=lifespan)

    @host.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return host


def _settings() -> Settings:
    return Settings(model="scripted", store="sqlite://:memory:", detach_grace_s=5)


async def test_mounted_calledit_streams_a_call_over_a_websocket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call streams through /agent/ws of a FastAPI app; the host's own routes still answer."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    events: list[str] = []
    host = _host(events)
    inner = mount(host, load_app("calledit"), "/agent", _settings())
    with serve_asgi(host) as live:
        assert inner.state.gateway.services.store is not None  # the gateway's lifespan ran
        async with websockets.connect(f"ws://127.0.0.1:{live.port}/agent/ws") as ws:
            await ws.send(json.dumps(MAKECALL))
            frames = await recv_run(ws)
        async with httpx.AsyncClient(base_url=live.http) as client:
            hello = await client.get("/hello")
            health = await client.get("/agent/healthz")
    assert frames[-1]["type"] == "complete" and frames[-1]["content"]["prediction_statement"]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert hello.json() == {"hello": "world"}
    assert health.json()["app"] == "calledit"
    assert events == ["host up", "host down"]


async def test_mounted_sse_run_names_its_events_url_under_the_prefix() -> None:
    """POST /agent/api/runs answers an events URL under /agent that streams the run over SSE."""
    host = _host([])
    mount(host, load_app("calledit"), "/agent/", _settings())
    with serve_asgi(host) as live:
        async with httpx.AsyncClient(base_url=live.http, timeout=30) as client:
            started = await client.post("/agent/api/runs", json=MAKECALL)
            url = started.json()["events"]
            body = (await client.get(url)).text
    assert started.status_code == 201
    assert url == f"/agent/api/runs/{started.json()['runId']}/events"
    frames = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    assert frames[-1]["type"] == "RUN_FINISHED"


def test_mount_works_on_a_plain_starlette_app() -> None:
    """A Starlette host gets the routes too (mount is not FastAPI-only)."""
    host = Starlette()
    mount(host, load_app("calledit"), "/x", _settings())
    assert [getattr(r, "path", None) for r in host.router.routes] == ["/x"]


@pytest.mark.parametrize("prefix", ["", "/", "agent"])
def test_mount_refuses_a_prefix_that_is_not_a_subpath(prefix: str) -> None:
    """An empty, root or relative prefix is a ValueError naming it."""
    with pytest.raises(ValueError, match="prefix"):
        mount(Starlette(), load_app("calledit"), prefix, _settings())
