"""POST /api/chat on a real server, read by the AI SDK itself (Node) and by a plain SSE reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from agentstream.gateway.aisdk_http import parse_chat
from agentstream.gateway.chat import Turn
from agentstream.gateway.context import RouteContext
from agentstream.gateway.messages import BadMessage
from agentstream.gateway.routes import AgentApp, ChatInput
from agentstream.gateway.settings import Settings
from agentstream.models.engine import ModelError
from agentstream.protocol.events import Event, TextMessageChunk
from tests.conftest import LiveServer, serve
from tests.identities import as_user
from tests.js.node import arun_node

PREDICTION = "It will rain in Paris tomorrow"


@pytest.fixture(scope="module")
def slow_calledit() -> Iterator[LiveServer]:
    """CalledIt with the scripted model, one delta every 20 ms (time to stop it mid-run)."""
    from agentstream.apps import load_app

    with serve(load_app("calledit"), Settings(model="scripted:0.02", store="none")) as live:
        yield live


class Prompt(BaseModel):
    prompt: str


def failing_app() -> AgentApp:
    app = AgentApp(name="failing", chat=ChatInput(action="go", text="prompt"))

    @app.run("go", Prompt)
    async def go(request: Prompt, ctx: RouteContext) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="Working on ")
        raise ModelError("The model server stopped responding")

    return app


async def ai_sdk(live: LiveServer, mode: str, prompt: str = PREDICTION) -> dict[str, Any]:
    headers = json.dumps(as_user(live, "ann"))
    result: dict[str, Any] = await arun_node("aisdk_chat.mjs", live.http, mode, prompt, headers)
    return result


def run_state(live: LiveServer, run_id: str) -> str:
    run = live.asgi.state.dispatcher.runs.get(run_id, "ann")
    return str(run.state.value)


async def test_the_ai_sdk_reads_a_calledit_call(slow_calledit: LiveServer) -> None:
    """DefaultChatTransport + readUIMessageStream: text, both tools with output, the record."""
    got = await ai_sdk(slow_calledit, "call")
    assert got["header"] == "v1" and got["errors"] == []
    assert got["types"][0] == "start" and got["types"][-1] == "finish"
    parts = got["message"]["parts"]
    text = "".join(p["text"] for p in parts if p["type"] == "text")
    assert text.startswith("Let me check today's date")
    tools = [p for p in parts if p["type"] == "dynamic-tool"]
    assert [t["toolName"] for t in tools] == ["current_time", "parse_relative_date"]
    assert all(t["state"] == "output-available" for t in tools)
    data = {p["type"]: p["data"] for p in parts if p["type"].startswith("data-")}
    assert data["data-result"]["prediction_statement"].startswith(PREDICTION)
    assert data["data-state"] == data["data-result"]  # the partial record, complete at the end
    assert sum(p["type"] == "data-state" for p in parts) == 1  # replaced in place, not appended


async def test_a_cancel_over_http_ends_the_sdk_stream_with_abort(slow_calledit: LiveServer) -> None:
    """POST /api/runs/{runId}/cancel mid-stream: the SDK sees ``abort``, not an error."""
    got = await ai_sdk(slow_calledit, "cancel")
    assert got["types"][-1] == "abort" and "finish" not in got["types"]
    assert got["errors"] == []
    assert run_state(slow_calledit, got["runId"]) == "cancelled"


async def test_aborting_the_fetch_cancels_the_run(slow_calledit: LiveServer) -> None:
    """useChat's stop() aborts the fetch: the server cancels the run (nobody can resume it)."""
    got = await ai_sdk(slow_calledit, "abort")
    assert "finish" not in got["types"]
    for _ in range(100):
        if run_state(slow_calledit, got["runId"]) != "running":
            break
        await asyncio.sleep(0.05)
    assert run_state(slow_calledit, got["runId"]) == "cancelled"


async def test_the_sdk_reports_a_failed_run_as_an_error() -> None:
    """A model failure mid-run reaches the SDK reader as its error, after the text so far."""
    with serve(failing_app(), Settings(model="scripted", store="none")) as live:
        got = await ai_sdk(live, "call", "anything")
    assert len(got["errors"]) == 1
    assert got["errors"][0].endswith("The model server stopped responding")
    assert got["types"][-2:] == ["error", "finish"]
    assert got["message"]["parts"][0]["text"] == "Working on "


async def test_a_bad_request_is_the_sdk_transports_error(slow_calledit: LiveServer) -> None:
    """A request the app refuses (blank prompt) is a 422 the SDK transport throws, named."""
    got = await ai_sdk(slow_calledit, "call", "   ")
    assert "user message" in got["requestError"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "invalid_json"),
        (b'"x"', 400, "bad_request"),
        (b'{"messages":[]}', 422, "invalid_request"),
        (b'{"messages":[{"role":"robot","parts":[]}]}', 422, "invalid_request"),
        (b'{"messages":[{"role":"user","parts":[]}],"timezone":"Mars/Base"}', 422, ""),
    ],
)
async def test_bad_bodies_are_refused_before_any_stream(
    slow_calledit: LiveServer, body: bytes, status: int, code: str
) -> None:
    """Bad JSON is 400; a body that is not the SDK's shape, or no user text, is 422."""
    async with httpx.AsyncClient(base_url=slow_calledit.http) as client:
        answer = await client.post(
            "/api/chat", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status
    assert answer.json()["code"] == (code or "invalid_request")


async def test_the_stream_ends_with_done(slow_calledit: LiveServer) -> None:
    """The last SSE line is ``data: [DONE]`` and every other data line is one JSON part."""
    body = {"id": "c1", "messages": [{"role": "user", "parts": [{"type": "text", "text": "x"}]}]}
    async with httpx.AsyncClient(base_url=slow_calledit.http, timeout=30) as client:
        answer = await client.post("/api/chat", json=body)
    lines = [line for line in answer.text.split("\n") if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert {json.loads(line[6:])["type"] for line in lines[:-1]} >= {"start", "finish"}


def test_parse_chat_reads_text_parts_and_keeps_extra_body_values() -> None:
    """Only text parts count; the SDK's own fields are not passed on as app fields."""
    talk = parse_chat(
        b'{"id":"c9","trigger":"submit-message","messageId":null,"timezone":"UTC",'
        b'"messages":[{"role":"user","parts":[{"type":"text","text":"a"},{"type":"file"},'
        b'{"type":"text","text":"b"}]}]}'
    )
    assert talk.turns == [Turn("user", "ab")] and talk.thread_id == "c9"
    assert talk.extra == {"timezone": "UTC"}
    with pytest.raises(BadMessage, match="nested"):
        parse_chat(b'{"messages":' + b"[" * 40 + b"]" * 40 + b"}")


@pytest.mark.parametrize(
    ("app_name", "prompt"),
    [("titles", "A blog about rain"), ("strategy", "Build me a low-risk yield strategy")],
)
async def test_the_ai_sdk_reads_a_title_chat_and_a_strategy(app_name: str, prompt: str) -> None:
    """The same SDK reader on the other seed apps: no errors, a finished message with text."""
    from agentstream.apps import load_app

    with serve(load_app(app_name), Settings(model="scripted", store="none")) as live:
        got = await ai_sdk(live, "call", prompt)
    assert got["errors"] == [] and got["types"][-1] == "finish"
    assert any(p["type"] == "text" and p["text"] for p in got["message"]["parts"])
