"""The HTTP doors over a real server: /api/invoke and /api/runs parse and dispatch like /ws."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Event, RunFinished
from tests.conftest import LiveServer, serve
from tests.identities import as_user


class Echo(BaseModel):
    text: str


def echo_app() -> AgentApp:
    app = AgentApp(name="echo", dialect="calledit")

    @app.run("echo", Echo)
    async def echo(request: Echo, ctx: RouteContext) -> AsyncIterator[Event]:
        yield RunFinished(result={"text": request.text, "user": ctx.user})

    @app.reply("whoami", Echo)
    async def whoami(request: Echo, ctx: ReplyContext) -> dict[str, Any]:
        return {"user": ctx.user, "text": request.text}

    return app


@pytest.fixture
def live() -> Iterator[LiveServer]:
    settings = Settings(model="scripted", store="none", max_message_bytes=1000)
    with serve(echo_app(), settings) as server:
        yield server


async def test_invoke_answers_the_terminal_frame_for_the_header_user(live: LiveServer) -> None:
    """A run over /api/invoke answers its complete frame, run as the cookie's proven user."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post(
            "/api/invoke", json={"action": "echo", "text": "hi"}, headers=as_user(live, "ann")
        )
    assert answer.status_code == 200
    assert answer.json()["type"] == "complete"
    assert answer.json()["content"] == {"text": "hi", "user": "ann"}


async def test_invoke_of_a_reply_route_answers_the_bare_reply(live: LiveServer) -> None:
    """A reply action over HTTP answers what the handler returned, as before."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post(
            "/api/invoke", json={"action": "whoami", "text": "x"}, headers=as_user(live, "bo")
        )
    assert answer.status_code == 200 and answer.json() == {"user": "bo", "text": "x"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "invalid_json"),
        (b'{"action":"nope"}', 400, "unknown_action"),
        (b'{"action":"echo"}', 422, "invalid_request"),
        (b'{"action":"ping"}', 400, "unknown_action"),
        (b'{"action":"echo","text":"' + b"x" * 1000 + b'"}', 413, "message_too_large"),
    ],
)
async def test_invoke_maps_each_bad_message_to_its_status(
    live: LiveServer, body: bytes, status: int, code: str
) -> None:
    """Bad bodies get the dialect's error frame with the leaf's code and HTTP status."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post(
            "/api/invoke", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status
    assert answer.json()["type"] == "error" and answer.json()["code"] == code


async def test_sse_start_refuses_a_reply_action(live: LiveServer) -> None:
    """POST /api/runs starts only streaming actions and lists the actions otherwise."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post("/api/runs", json={"action": "whoami", "text": "x"})
        started = await client.post("/api/runs", json={"action": "echo", "text": "x"})
        theirs = await client.get(started.json()["events"], headers=as_user(live, "someone"))
    assert answer.status_code == 400 and answer.json()["code"] == "unknown_action"
    assert "echo" in answer.json()["actions"]
    assert started.status_code == 201 and theirs.status_code == 404


async def test_sse_resumed_at_or_past_a_finished_runs_end_ends_at_once(live: LiveServer) -> None:
    """Last-Event-ID at or past a finished run's last seq closes the stream instead of hanging."""
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as client:
        started = await client.post("/api/runs", json={"action": "echo", "text": "hi"})
        events = started.json()["events"]
        whole = await client.get(events)
        last = whole.text.strip().split("\n\n")[-1].split("\n")[0].removeprefix("id: ")
        for after in (last, "999"):
            again = await client.get(events, headers={"Last-Event-ID": after})
            assert again.status_code == 200 and "data:" not in again.text


@pytest.mark.parametrize("value", ["5" * 5000, "\u0663", "9223372036854775808", "-1", "1e3"])
async def test_a_malformed_last_event_id_is_a_400_never_a_500(live: LiveServer, value: str) -> None:
    """Huge, non-ASCII-digit or over-64-bit Last-Event-IDs answer bad_request."""
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as client:
        started = await client.post("/api/runs", json={"action": "echo", "text": "hi"})
        events = started.json()["events"]
        answer = await client.get(events, params={"lastEventId": value})
    assert answer.status_code == 400 and answer.json()["code"] == "bad_request"


async def test_a_claimed_user_means_nothing(live: LiveServer) -> None:
    """?user= and X-User are ignored: the run belongs to the fresh identity the server gave."""
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as client:
        answer = await client.post(
            "/api/invoke?user=ann",
            json={"action": "whoami", "text": "hi"},
            headers={"X-User": "ann"},
        )
    assert answer.status_code == 200
    assert answer.json()["user"].startswith("anon-")


def test_an_sse_frame_reuses_the_events_encoding_for_its_dialect() -> None:
    """An SSE event carries id = seq and the very text every socket of that dialect gets."""
    from agentstream.gateway.http import _frame
    from agentstream.protocol.codec import frame_text
    from agentstream.protocol.dialects import get_dialect
    from agentstream.protocol.events import TextMessageChunk, stamp

    dialect = get_dialect("agentstream")
    event = stamp(TextMessageChunk(message_id="m", delta="hi"), run_id="r", seq=7, ts=1.0)
    shared = frame_text(event, dialect.name, dialect.render)
    assert _frame(dialect, event) == f"id: 7\ndata: {shared}\n\n"
    assert event.frames is not None and event.frames[dialect.name] is shared
