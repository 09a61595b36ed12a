"""The titles dialect renders seed 002's frames, one per event, statelessly."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.dialects import titles as _titles  # noqa: F401  (registers it)
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    stamp,
)
from tests.protocol.test_codec import SAMPLES


def render(event: Event, seq: int = 4) -> dict[str, Any]:
    return get_dialect("titles").render(stamp(event, run_id="run_t", seq=seq, ts=12.5))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_json_frame_with_its_seq(event: Event) -> None:
    """Every canonical event yields one JSON-ready frame carrying runId and seq."""
    frame = render(event)
    assert frame["type"] and frame["runId"] == "run_t" and frame["seq"] == 4
    orjson.dumps(frame)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            RunStarted(input={"projectId": "p1", "userInput": "x", "requestId": "r9"}),
            {"type": "stream_start", "sessionId": "p1", "requestId": "r9"},
        ),
        (
            Custom(
                name="progress",
                value={"stage": "analyzing", "step": "Analyzing...", "progress": 30},
            ),
            {"type": "progress", "stage": "analyzing", "step": "Analyzing...", "progress": 30},
        ),
        (
            TextMessageChunk(delta="1. Title", message_id="team/a/run_1"),
            {"type": "stream_chunk", "content": "1. Title", "sessionId": "team/a"},
        ),
        (
            RunFinished(result={"fullContent": "1. Title", "sessionId": "p1", "truncated": False}),
            {"type": "stream_complete", "fullContent": "1. Title", "sessionId": "p1"},
        ),
        (
            RunError(message="model failed", code="model_error"),
            {"type": "error", "message": "model failed", "code": "model_error"},
        ),
    ],
)
def test_seed_frames_are_exact(event: Event, expected: dict[str, Any]) -> None:
    """Progress, chunks, completion and errors have exactly the seed's fields (+ runId, seq)."""
    assert render(event) == {**expected, "runId": "run_t", "seq": 4}


def test_errors_outside_a_run_use_the_seed_shape() -> None:
    """A bad client frame renders as {type: error, message, code}."""
    assert get_dialect("titles").render_error("bad", "invalid_json") == {
        "type": "error",
        "message": "bad",
        "code": "invalid_json",
    }
