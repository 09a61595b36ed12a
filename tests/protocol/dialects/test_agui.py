"""The AG-UI dialect: frames validate against the official ``ag_ui.core`` models.

Every frame, including the ones that once failed (empty required fields, a cancel, the app's
input), is checked with ``model_extra`` empty: no key the spec does not name.
"""

from __future__ import annotations

import json
from typing import Any

import ag_ui.core
import pydantic
import pytest
import websockets

from agentstream.protocol.control import ErrorAnswer
from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateSnapshot,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
    stamp,
)
from tests.protocol.test_codec import SAMPLES

AGUI_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ag_ui.core.Event)


def render(event: Event, seq: int = 3) -> dict[str, Any]:
    return get_dialect("ag-ui").render(stamp(event, run_id="run_x", seq=seq, ts=1.5))


def validate(frame: dict[str, Any]) -> Any:
    """The official model for ``frame``; fails on a missing field or a key the spec doesn't name."""
    model = AGUI_EVENT.validate_python(frame)
    assert not model.model_extra, f"keys AG-UI does not define: {model.model_extra}"
    return model


CONFORMING = [e for e in SAMPLES if not isinstance(e, RunStarted)] + [
    RunStarted(),
    RunStarted(thread_id="thread-1"),
    RunFinished(),
    TextMessageChunk(delta=""),
    ToolCallChunk(tool_call_id="t", tool_call_name="n", delta=""),
    ToolCallResult(tool_call_id="t", content="no such city", status="error"),
]


@pytest.mark.parametrize("event", CONFORMING, ids=lambda e: e.type)
def test_frames_validate_against_the_official_models(event: Event) -> None:
    """Each frame is the AG-UI event of the same type and carries only fields the spec names."""
    frame = render(event)
    model = validate(frame)
    assert model.type.value == event.type
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == frame


ONCE_EMPTY = [
    pytest.param(RunStarted(input={"prompt": "p"}), id="run-started-input-goes-to-metadata"),
    pytest.param(Custom(name="tick"), id="custom-without-value-keeps-required-value"),
    pytest.param(ToolCallResult(tool_call_id="t", content=""), id="tool-result-empty-content"),
    pytest.param(StateSnapshot(snapshot=None), id="state-snapshot-none-kept"),
    pytest.param(RunError(message=""), id="run-error-empty-message-kept"),
    pytest.param(RunError(message="stop", code="cancelled"), id="cancel-is-run-finished"),
]


@pytest.mark.parametrize("event", ONCE_EMPTY)
def test_required_fields_stay_even_when_empty(event: Event) -> None:
    """Frames that once failed the official models (empty required fields, a non-AG-UI input)."""
    frame = render(event)
    assert validate(frame).model_dump(by_alias=True, mode="json") == frame


def test_a_cancelled_run_finishes_with_the_cancelled_outcome() -> None:
    """AG-UI 1.0: a cancel is RUN_FINISHED with outcome ``cancelled``, not a RUN_ERROR."""
    frame = render(RunError(message="You stopped it", code="cancelled"), seq=12)
    model = validate(frame)
    assert isinstance(model, ag_ui.core.RunFinishedEvent)
    assert model.outcome is not None and model.outcome.type == "cancelled"
    assert frame["runId"] == frame["threadId"] == "run_x"
    assert frame["metadata"] == {"runId": "run_x", "seq": 12, "message": "You stopped it"}


def test_a_failed_run_is_still_a_run_error() -> None:
    """Any other error code stays RUN_ERROR with its message and code."""
    model = validate(render(RunError(message="boom", code="model_error")))
    assert isinstance(model, ag_ui.core.RunErrorEvent) and model.code == "model_error"


def test_run_started_declares_protocol_1_0_and_keeps_the_app_input() -> None:
    """RUN_STARTED says protocolVersion 1.0; the app request rides in metadata.input."""
    frame = render(RunStarted(input={"action": "makecall", "prompt": "p"}))
    assert frame["protocolVersion"] == ag_ui.core.PROTOCOL_VERSION == "1.0"
    assert "input" not in frame
    assert frame["metadata"]["input"] == {"action": "makecall", "prompt": "p"}


def test_the_envelope_travels_in_metadata_with_a_millisecond_timestamp() -> None:
    """runId and seq go in ``metadata`` (not top level), and ``timestamp`` is ts in milliseconds."""
    frame = render(TextMessageChunk(delta="hi"), seq=9)
    assert frame["metadata"] == {"runId": "run_x", "seq": 9}
    assert frame["timestamp"] == 1500
    assert "seq" not in frame and "ts" not in frame and "runId" not in frame


def test_run_events_fill_thread_id_from_the_run_when_missing() -> None:
    """RUN_STARTED/RUN_FINISHED get the run id as threadId unless the event names a thread."""
    assert render(RunStarted())["threadId"] == "run_x"
    assert render(RunFinished(thread_id="th"))["threadId"] == "th"
    assert render(RunFinished())["runId"] == "run_x"


def test_text_and_tool_calls_share_one_message_id_per_run() -> None:
    """A text chunk without a messageId and a tool call's parent point at the same message."""
    text = render(TextMessageChunk(delta="hi"))
    call = render(ToolCallChunk(tool_call_id="t", tool_call_name="n"))
    assert text["messageId"] == call["parentMessageId"] == "run_x-text"
    assert render(TextMessageChunk(delta="hi", message_id="m7"))["messageId"] == "m7"


def test_tool_results_are_tool_messages_without_our_extra_fields() -> None:
    """A tool result gets role ``tool`` and a messageId, and drops toolCallName and status."""
    frame = render(ToolCallResult(tool_call_id="t1", content="ok", tool_call_name="clock"))
    assert frame["role"] == "tool" and frame["messageId"] == "t1-result"
    assert "toolCallName" not in frame and "status" not in frame


def test_errors_outside_a_run_are_valid_run_error_events() -> None:
    """An error with no run (and a control error answer) is a RUN_ERROR the spec accepts."""
    dialect = get_dialect("ag-ui")
    assert validate(dialect.render_error("no such app", "unknown_app")).code == "unknown_app"
    frame = dialect.render_control(ErrorAnswer(message="bad", code="bad_json", request_id="r1"))
    assert frame == {"type": "RUN_ERROR", "message": "bad", "code": "bad_json", "requestId": "r1"}


APP_RUNS = {
    "calledit": {"action": "makecall", "prompt": "It will rain in Paris tomorrow"},
    "titles": {"action": "stream", "projectId": "p1", "userInput": "A blog about rain"},
    "strategy": {"action": "chat", "message": "Build me a low-risk yield strategy"},
    "realestate": {"action": "invoke", "question": "What is the rent in Lisbon?"},
}


@pytest.mark.parametrize("app_name", sorted(APP_RUNS))
async def test_every_frame_of_each_scripted_app_run_is_ag_ui_1_0(app_name: str) -> None:
    """A whole scripted run of each app, in the ag-ui dialect: every frame is an AG-UI 1.0 event."""
    from agentstream.apps import load_app
    from agentstream.gateway.settings import Settings
    from tests.conftest import recv_run, serve

    with serve(load_app(app_name), Settings(model="scripted", store="none")) as live:
        async with websockets.connect(f"{live.ws}?dialect=ag-ui") as ws:
            await ws.send(json.dumps(APP_RUNS[app_name]))
            frames = await recv_run(ws)
    models = [validate(frame) for frame in frames]
    assert [f["metadata"]["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert models[0].protocol_version == "1.0"
    assert isinstance(models[-1], ag_ui.core.RunFinishedEvent), frames[-1]
    assert {type(m).__name__ for m in models} >= {"RunStartedEvent", "TextMessageChunkEvent"}
