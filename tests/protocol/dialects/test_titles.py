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


@pytest.mark.parametrize(
    ("processed", "total", "cached", "percent", "step"),
    [
        (0, 480, 0, 50, "Reading the prompt: 0/480 tokens..."),
        (240, 480, 0, 65, "Reading the prompt: 240/480 tokens..."),
        (479, 480, 0, 79, "Reading the prompt: 479/480 tokens..."),
        (480, 480, 0, 80, "Reading the prompt: 480/480 tokens..."),
        (384, 956, 730, 62, "Reading the prompt: 384/956 tokens (730 from cache)..."),
        (0, 0, 0, 50, "Reading the prompt: 0/0 tokens..."),
        (500, 480, 0, 80, "Reading the prompt: 500/480 tokens..."),
    ],
)
def test_engine_prompt_progress_is_seed_progress_inside_the_generating_stage(
    processed: int, total: int, cached: int, percent: int, step: str
) -> None:
    """Engine prompt counts render as a seed progress frame: generating, 50..80 %, real numbers."""
    counts = {"stage": "prompt", "processed": processed, "total": total, "cached": cached}
    assert render(Custom(name="progress", value=counts)) == {
        "type": "progress",
        "stage": "generating",
        "step": step,
        "progress": percent,
        "processed": processed,
        "total": total,
        "cached": cached,
        "runId": "run_t",
        "seq": 4,
    }
