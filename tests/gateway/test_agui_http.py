"""POST /api/agui on a real server: RunAgentInput in, AG-UI 1.0 SSE out, Last-Event-ID resume."""

from __future__ import annotations

from typing import Any

import ag_ui.core
import httpx
import pydantic
import pytest

from agentstream.gateway.agui_http import conversation, parse_input
from agentstream.gateway.chat import Turn
from agentstream.gateway.messages import BadMessage
from tests.conftest import LiveServer
from tests.gateway.sse import SSE, events
from tests.identities import as_user

AGUI_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ag_ui.core.Event)
PREDICTION = "It will rain in Paris tomorrow"


def run_input(run_id: str = "client-run-1", **extra: Any) -> dict[str, Any]:
    return {
        "threadId": "thread-1",
        "runId": run_id,
        "messages": [
            {"id": "m0", "role": "user", "content": "an earlier call"},
            {"id": "m1", "role": "assistant", "content": "noted"},
            {"id": "m2", "role": "user", "content": PREDICTION},
        ],
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": {"timezone": "Europe/Paris"},
        **extra,
    }


async def post(
    live: LiveServer, body: Any, headers: dict[str, str] | None = None, limit: int = 10_000
) -> tuple[httpx.Response, list[SSE]]:
    """POST ``body`` as one user (every call the same one), reading up to ``limit`` events."""
    sent = as_user(live, "agui-user") | (headers or {})
    async with (
        httpx.AsyncClient(base_url=live.http, timeout=30) as client,
        client.stream("POST", "/api/agui", json=body, headers=sent) as response,
    ):
        got: list[SSE] = []
        if response.headers["content-type"].startswith("text/event-stream"):
            async for event in events(response):
                got.append(event)
                if len(got) >= limit:
                    break
        else:
            await response.aread()
        return response, got


async def test_a_run_agent_input_streams_a_calledit_call_as_ag_ui(
    calledit_server: LiveServer,
) -> None:
    """The last user message is the prediction; every frame is AG-UI 1.0 with id = seq."""
    response, got = await post(calledit_server, run_input())
    assert response.status_code == 200
    frames = [e.json for e in got]
    models = [AGUI_EVENT.validate_python(f) for f in frames]
    assert [e.id for e in got] == [str(n) for n in range(1, len(got) + 1)]
    assert models[0].type == "RUN_STARTED" and models[-1].type == "RUN_FINISHED"
    assert frames[0]["threadId"] == frames[-1]["threadId"] == "thread-1"
    assert frames[0]["runId"] == frames[-1]["runId"] == "client-run-1"
    assert frames[0]["metadata"]["runId"] == response.headers["x-agentstream-run-id"]
    assert frames[0]["metadata"]["input"]["prompt"] == PREDICTION
    assert frames[0]["metadata"]["input"]["timezone"] == "Europe/Paris"
    assert frames[-1]["result"]["prediction_statement"]


async def test_last_event_id_resumes_with_no_gap_and_no_duplicate(
    calledit_server: LiveServer,
) -> None:
    """Drop after 4 events, POST the same input with Last-Event-ID: 4: the rest, exactly once."""
    _, first = await post(calledit_server, run_input("resume-me"), limit=4)
    _, rest = await post(calledit_server, run_input("resume-me"), {"Last-Event-ID": "4"})
    _, whole = await post(calledit_server, run_input("resume-me"))
    assert [e.id for e in first] == ["1", "2", "3", "4"]
    assert [e.data for e in first + rest] == [e.data for e in whole]
    assert whole[-1].json["type"] == "RUN_FINISHED"


async def test_posting_the_same_run_id_again_replays_instead_of_starting_another(
    calledit_server: LiveServer,
) -> None:
    """A retried POST (same runId, no Last-Event-ID) gets the same run, not a second one."""
    _, once = await post(calledit_server, run_input("retry"))
    _, twice = await post(calledit_server, run_input("retry"))
    assert once[0].json["metadata"]["runId"] == twice[0].json["metadata"]["runId"]


@pytest.mark.parametrize(
    ("body", "status", "code", "named"),
    [
        (b"{", 400, "invalid_json", ""),
        (b"[1]", 400, "bad_request", "RunAgentInput"),
        (b'{"threadId":"t","runId":"r"}', 422, "invalid_request", "messages"),
        (
            b'{"threadId":"t","runId":"r","messages":[{"id":"a","role":"assistant","content":"x"}]}',
            422,
            "invalid_request",
            "user message",
        ),
    ],
)
async def test_bad_input_is_refused_with_a_clear_error(
    calledit_server: LiveServer, body: bytes, status: int, code: str, named: str
) -> None:
    """Bad JSON is 400; the official model's refusals and a missing user turn are 422, named."""
    async with httpx.AsyncClient(base_url=calledit_server.http) as client:
        answer = await client.post(
            "/api/agui", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status
    assert answer.json()["code"] == code and named in answer.json()["message"]


async def test_the_apps_request_model_still_validates_forwarded_props(
    calledit_server: LiveServer,
) -> None:
    """A bad timezone in forwardedProps is the app's own 422, before any stream."""
    response, _ = await post(calledit_server, run_input(forwardedProps={"timezone": "Mars/Base"}))
    assert response.status_code == 422 and "timezone" in response.json()["message"]


async def test_resuming_an_unknown_run_is_404_and_a_bad_last_event_id_400(
    calledit_server: LiveServer,
) -> None:
    """Last-Event-ID for a run nobody started is 404; a non-number Last-Event-ID is 400."""
    response, _ = await post(calledit_server, run_input("never"), {"Last-Event-ID": "3"})
    assert response.status_code == 404 and response.json()["code"] == "unknown_run"
    response, _ = await post(calledit_server, run_input("never"), {"Last-Event-ID": "x"})
    assert response.status_code == 400


def test_content_parts_and_forwarded_props_become_the_conversation() -> None:
    """Text parts join into the turn's text; forwardedProps that are an object become extras."""
    parsed = parse_input(
        b'{"threadId":"t","runId":"r","forwardedProps":[1],"messages":[{"id":"a","role":"user",'
        b'"content":[{"type":"text","text":"hel"},{"type":"text","text":"lo"}]}]}'
    )
    talk = conversation(parsed)
    assert talk.turns == [Turn("user", "hello")] and talk.extra == {} and talk.thread_id == "t"


def test_parse_input_refuses_deep_nesting() -> None:
    """A body nested past the limit is refused before the model sees it."""
    with pytest.raises(BadMessage, match="nested"):
        parse_input(b'{"state":' + b"[" * 40 + b"]" * 40 + b"}")


async def test_ag_ui_http_agent_runs_a_calledit_call_and_receives_the_record(
    calledit_server: LiveServer,
) -> None:
    """@ag-ui/client's HttpAgent, unchanged, in Node: text, both tools, the state, the record."""
    from tests.js.node import arun_node

    got = await arun_node("agui_calledit.mjs", calledit_server.http, PREDICTION)
    assert got["result"]["prediction_statement"].startswith(PREDICTION)
    assert got["result"]["verification_method"]["steps"]
    assert got["finished"]["outcome"] == "success"
    assert got["state"] == got["result"]  # STATE_SNAPSHOT + STATE_DELTA built the same record
    assert got["tools"] == ["current_time", "parse_relative_date"]
    assert got["text"].startswith("Let me check today's date")
    assert got["types"][0] == "RUN_STARTED" and got["types"][-1] == "RUN_FINISHED"
