"""The strategy dialect renders seed 003's frames, one per event, statelessly."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.dialects import strategy as _strategy  # noqa: F401  (registers it)
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateDelta,
    StateSnapshot,
    TextMessageChunk,
    stamp,
)
from tests.protocol.test_codec import SAMPLES


def render(event: Event) -> dict[str, Any]:
    return get_dialect("strategy").render(stamp(event, run_id="run_s", seq=2, ts=1.0))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_json_frame_with_its_seq(event: Event) -> None:
    """Every canonical event yields one JSON-ready frame carrying runId and seq."""
    frame = render(event)
    assert frame["type"] and frame["runId"] == "run_s" and frame["seq"] == 2
    orjson.dumps(frame)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            RunStarted(input={"message": "hi", "requestId": "r1"}),
            {"type": "start", "requestId": "r1"},
        ),
        (
            TextMessageChunk(delta="I've built"),
            {"type": "user_message_chunk", "content": "I've built"},
        ),
        (
            StateDelta(delta=[{"op": "add", "path": "/degen_class", "value": {"selected": "Low"}}]),
            {
                "type": "strategy_update",
                "section": "degen_class",
                "data": {"selected": "Low"},
                "patch": [{"op": "add", "path": "/degen_class", "value": {"selected": "Low"}}],
            },
        ),
        (
            StateDelta(delta=[{"op": "remove", "path": "/flowchart/nodes/0"}]),
            {
                "type": "strategy_update",
                "section": "flowchart",
                "patch": [{"op": "remove", "path": "/flowchart/nodes/0"}],
            },
        ),
        (
            StateSnapshot(snapshot={"degen_class": {"selected": "Low"}}),
            {"type": "strategy", "strategy_json": {"degen_class": {"selected": "Low"}}},
        ),
        (
            Custom(
                name="strategy_error",
                value={"message": "bad", "code": "invalid_json", "type": "ignored"},
            ),
            {"type": "strategy_error", "message": "bad", "code": "invalid_json"},
        ),
        (
            RunFinished(result={"user_message": "Done.", "strategy_json": {"a": 1}}),
            {"type": "response", "user_message": "Done.", "strategy_json": {"a": 1}},
        ),
        (
            RunFinished(result={"user_message": "Hm.", "strategy_json": None, "error": "no JSON"}),
            {"type": "response", "user_message": "Hm.", "strategy_json": None, "error": "no JSON"},
        ),
        (
            RunError(message="boom", code="model_error"),
            {"type": "error", "message": "boom", "code": "model_error"},
        ),
    ],
)
def test_seed_frames_are_exact(event: Event, expected: dict[str, Any]) -> None:
    """Each frame has exactly the documented fields (+ runId, seq)."""
    assert render(event) == {**expected, "runId": "run_s", "seq": 2}
