"""The real-estate dialect renders seed 004's frames with a timestamp, one per event."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.dialects import realestate as _realestate  # noqa: F401  (registers it)
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
    stamp,
)
from tests.protocol.test_codec import SAMPLES

TS = 1234567890.123


def render(event: Event) -> dict[str, Any]:
    return get_dialect("realestate").render(stamp(event, run_id="run_r", seq=5, ts=TS))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_frame_with_a_timestamp(event: Event) -> None:
    """Every canonical event yields one frame with timestamp (the event's ts), runId and seq."""
    frame = render(event)
    assert frame["type"] and frame["timestamp"] == TS
    assert frame["runId"] == "run_r" and frame["seq"] == 5
    orjson.dumps(frame)


RESULT = {
    "success": True,
    "content": "Setbacks are 5 feet.",
    "agent": "zoning",
    "query_type": "zoning",
    "tools_available": 1,
    "tools_used": 1,
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            RunStarted(input={"question": "q"}),
            {"type": "status", "message": "Processing your query..."},
        ),
        (
            Custom(name="status", value="Searching..."),
            {"type": "status", "message": "Searching..."},
        ),
        (
            Custom(name="status", value={"message": "Routing", "agent": "zoning"}),
            {"type": "status", "message": "Routing", "agent": "zoning"},
        ),
        (
            Custom(name="message", value={"role": "assistant", "content": "Hello"}),
            {"type": "message", "role": "assistant", "content": "Hello"},
        ),
        (
            TextMessageChunk(delta="Hel"),
            {"type": "message_delta", "role": "assistant", "content": "Hel"},
        ),
        (
            ToolCallChunk(
                tool_call_id="t1",
                tool_call_name="search_zoning_documents",
                delta='{"query": "setbacks"}',
            ),
            {
                "type": "status",
                "message": "Using tool search_zoning_documents",
                "tool": "search_zoning_documents",
                "input": {"query": "setbacks"},
                "id": "t1",
            },
        ),
        (
            ToolCallResult(
                tool_call_id="t1", tool_call_name="search_zoning_documents", content="[1] ..."
            ),
            {
                "type": "status",
                "message": "Tool search_zoning_documents finished (success)",
                "tool": "search_zoning_documents",
                "status": "success",
                "id": "t1",
            },
        ),
        (RunFinished(result=RESULT), {"type": "result", "data": RESULT}),
        (
            RunError(message="model failed", code="model_error"),
            {"type": "error", "error": "model failed", "code": "model_error"},
        ),
    ],
)
def test_seed_frames_are_exact(event: Event, expected: dict[str, Any]) -> None:
    """status, message, result and error carry exactly the seed's fields (+ runId, seq)."""
    assert render(event) == {**expected, "timestamp": TS, "runId": "run_r", "seq": 5}


def test_errors_outside_a_run_have_error_and_timestamp() -> None:
    """A bad request renders as {type: error, error, timestamp} (message too, for our client)."""
    frame = get_dialect("realestate").render_error("bad", "invalid_request")
    assert frame["type"] == "error" and frame["error"] == "bad" and frame["message"] == "bad"
    assert isinstance(frame["timestamp"], float)
