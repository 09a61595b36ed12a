"""The canonical dialect: frames are the codec's dicts, errors are RUN_ERROR with no run."""

from __future__ import annotations

import pytest

from agentstream.protocol import codec
from agentstream.protocol.control import ErrorAnswer, Pong
from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import Event, stamp
from tests.protocol.test_codec import SAMPLES


def stamped(event: object, seq: int = 3) -> object:
    return stamp(event, run_id="run_x", seq=seq, ts=0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_renders_to_one_frame_with_its_seq(event: object) -> None:
    """Every canonical event yields exactly one frame carrying runId and seq."""
    frame = get_dialect("agentstream").render(stamped(event))  # type: ignore[arg-type]
    assert isinstance(frame, dict) and frame["type"]
    assert frame["runId"] == "run_x" and frame["seq"] == 3


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_frames_decode_back_to_the_same_event(event: Event) -> None:
    """A canonical frame is exactly the codec's dict, so it decodes back to the event it was."""
    event = stamp(event, run_id="run_x", seq=5, ts=1.25)
    frame = get_dialect("agentstream").render(event)
    assert frame == codec.to_dict(event)
    assert codec.from_dict(frame) == event


def test_errors_outside_a_run_are_run_error_frames() -> None:
    """An error with no run is a RUN_ERROR with message, code and any extra fields."""
    frame = get_dialect("agentstream").render_error("no such app", "unknown_app", requestId=7)
    assert frame == {
        "type": "RUN_ERROR",
        "message": "no such app",
        "code": "unknown_app",
        "requestId": 7,
    }


def test_control_answers_keep_their_type_and_errors_use_run_error() -> None:
    """Control answers stay plain frames; an error answer is a RUN_ERROR with its requestId."""
    dialect = get_dialect("agentstream")
    assert dialect.render_control(Pong(request_id="a")) == {"type": "pong", "requestId": "a"}
    frame = dialect.render_control(ErrorAnswer(message="m", code="c", request_id="b"))
    assert frame == {"type": "RUN_ERROR", "message": "m", "code": "c", "requestId": "b"}
