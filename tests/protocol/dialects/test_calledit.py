"""The CalledIt dialect renders the seed's frames, one per event, plus runId and seq."""

from __future__ import annotations

from typing import Any

import pytest

from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateDelta,
    StateSnapshot,
    StepFinished,
    StepStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
    stamp,
)
from tests.protocol.test_codec import SAMPLES


def stamped(event: object, seq: int = 3) -> object:
    return stamp(event, run_id="run_x", seq=seq, ts=0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_frame_with_its_seq(event: object) -> None:
    """Every canonical event yields exactly one frame carrying runId and seq."""
    frame = get_dialect("calledit").render(stamped(event))  # type: ignore[arg-type]
    assert isinstance(frame, dict) and frame["type"]
    assert frame["runId"] == "run_x" and frame["seq"] == 3


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (TextMessageChunk(delta="Hi"), {"type": "text", "content": "Hi"}),
        (
            ToolCallChunk(
                tool_call_id="t1", tool_call_name="current_time", delta='{"timezone": "UTC"}'
            ),
            {"type": "tool", "name": "current_time", "input": {"timezone": "UTC"}, "id": "t1"},
        ),
        (Custom(name="status", value="complete"), {"type": "status", "status": "complete"}),
        (
            RunFinished(result={"initial_status": "pending"}),
            {"type": "complete", "content": {"initial_status": "pending"}},
        ),
        (
            RunError(message="boom", code="model_error"),
            {"type": "error", "message": "boom", "code": "model_error"},
        ),
        (RunStarted(), {"type": "status", "status": "started"}),
    ],
)
def test_calledit_frames_match_the_seed(event: object, expected: dict[str, object]) -> None:
    """CalledIt frames are the seed's shapes plus runId and seq."""
    assert get_dialect("calledit").render(stamped(event)) == {
        **expected,
        "runId": "run_x",
        "seq": 3,
    }  # type: ignore[arg-type]


def test_calledit_keeps_unparseable_tool_input_as_text() -> None:
    """Tool arguments that are not JSON are passed through as a string, not dropped."""
    frame = get_dialect("calledit").render(
        stamped(  # type: ignore[arg-type]
            ToolCallChunk(tool_call_id="t", tool_call_name="n", delta="{oops")
        )
    )
    assert frame["input"] == "{oops"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            ToolCallResult(tool_call_id="t1", content="12:00", tool_call_name="current_time"),
            {
                "type": "tool_result",
                "id": "t1",
                "name": "current_time",
                "content": "12:00",
                "status": "success",
            },
        ),
        (
            StepStarted(step_name="review"),
            {"type": "status", "status": "step_started", "step": "review"},
        ),
        (
            StepFinished(step_name="review"),
            {"type": "status", "status": "step_finished", "step": "review"},
        ),
        (
            Custom(name="progress", value={"stage": "prompt", "processed": 4, "total": 9}),
            {"type": "progress", "value": {"stage": "prompt", "processed": 4, "total": 9}},
        ),
        (
            StateSnapshot(snapshot={"prediction": "r"}),
            {"type": "state", "snapshot": {"prediction": "r"}},
        ),
        (
            StateDelta(delta=[{"op": "replace", "path": "/prediction", "value": "rain"}]),
            {
                "type": "state_delta",
                "delta": [{"op": "replace", "path": "/prediction", "value": "rain"}],
            },
        ),
    ],
)
def test_events_the_seed_never_had_use_the_shared_wire_contract(
    event: Event, expected: dict[str, Any]
) -> None:
    """Tool results, steps, progress and state render in the shapes the wire contract names."""
    assert get_dialect("calledit").render(stamped(event)) == {  # type: ignore[arg-type]
        **expected,
        "runId": "run_x",
        "seq": 3,
    }


def test_run_started_carries_the_request_id_of_the_message_that_started_it() -> None:
    """The ``started`` status echoes the client's requestId so the client pairs it."""
    frame = get_dialect("calledit").render(
        stamped(RunStarted(input={"prompt": "p", "requestId": "req-1"}))  # type: ignore[arg-type]
    )
    assert frame["requestId"] == "req-1"
    assert "requestId" not in get_dialect("calledit").render(
        stamped(RunStarted(input={"prompt": "p"}))  # type: ignore[arg-type]
    )


def test_empty_tool_arguments_render_as_an_empty_object() -> None:
    """A tool call with no argument text gets ``{}`` as input, not an empty string."""
    frame = get_dialect("calledit").render(
        stamped(ToolCallChunk(tool_call_id="t", tool_call_name="n", delta=""))  # type: ignore[arg-type]
    )
    assert frame["input"] == {}
