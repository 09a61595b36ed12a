"""Dialects render one frame per event, statelessly, in each wire format."""

from __future__ import annotations

import pytest

from agentstream.protocol.dialects import UnknownDialect, get_dialect, names
from agentstream.protocol.events import (
    Custom,
    RunError,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    ToolCallChunk,
    stamp,
)
from tests.protocol.test_codec import SAMPLES


def stamped(event: object, seq: int = 3) -> object:
    return stamp(event, run_id="run_x", seq=seq, ts=0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["agentstream", "calledit"])
@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_frame_with_its_seq(name: str, event: object) -> None:
    """Every canonical event yields exactly one frame carrying runId and seq."""
    frame = get_dialect(name).render(stamped(event))  # type: ignore[arg-type]
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


def test_unknown_dialect_lists_the_known_ones() -> None:
    """Asking for an unknown dialect names the known ones."""
    with pytest.raises(UnknownDialect, match="agentstream"):
        get_dialect("nope")
    assert {"agentstream", "calledit"} <= set(names())
