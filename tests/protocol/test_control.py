"""Control frames: typed answers every dialect renders, keeping type names and requestId."""

from __future__ import annotations

import pytest

from agentstream.protocol.control import (
    CancelAnswer,
    Control,
    ErrorAnswer,
    Pong,
    ReplyAnswer,
    ResumeAnswer,
    control_frame,
)
from agentstream.protocol.dialects import get_dialect, names

ANSWERS: list[tuple[Control, dict[str, object]]] = [
    (Pong(request_id="p"), {"type": "pong", "requestId": "p"}),
    (
        CancelAnswer(run_id="r", state="cancelling", message="x", request_id=1),
        {
            "type": "cancel",
            "requestId": 1,
            "runId": "r",
            "state": "cancelling",
            "message": "x",
        },
    ),
    (
        ResumeAnswer(run_id="r", state="running", last_seq=4, request_id="q"),
        {"type": "resume", "requestId": "q", "runId": "r", "state": "running", "lastSeq": 4},
    ),
    (
        ResumeAnswer(run_id="r", state="expired", message="gone"),
        {"type": "resume", "runId": "r", "state": "expired", "message": "gone"},
    ),
    (
        ReplyAnswer(action="logcall", body={"created": True}, request_id="l"),
        {"type": "logcall_result", "requestId": "l", "created": True},
    ),
]


@pytest.mark.parametrize(("control", "frame"), ANSWERS)
def test_plain_frames(control: Control, frame: dict[str, object]) -> None:
    """Each control answer has its wire type, its fields, and requestId only when sent."""
    assert control_frame(control) == frame


def test_a_reply_may_answer_with_its_own_type() -> None:
    """A reply's own keys win, so a $default reply can answer as an error frame."""
    frame = control_frame(ReplyAnswer(action="$default", body={"type": "error", "error": "x"}))
    assert frame == {"type": "error", "error": "x"}


@pytest.mark.parametrize("dialect", names())
@pytest.mark.parametrize(("control", "frame"), ANSWERS)
def test_every_dialect_keeps_the_type_names_and_request_id(
    dialect: str, control: Control, frame: dict[str, object]
) -> None:
    """Every dialect renders control answers with their type, fields and requestId intact."""
    rendered = get_dialect(dialect).render_control(control)
    assert rendered == {**rendered, **frame}


@pytest.mark.parametrize("dialect", names())
def test_errors_render_in_the_dialect_error_shape_with_the_request_id(dialect: str) -> None:
    """An error answer is the dialect's own error frame, plus the requestId it answers."""
    answer = ErrorAnswer(message="not valid JSON", code="invalid_json", request_id="e1")
    rendered = get_dialect(dialect).render_control(answer)
    expected = get_dialect(dialect).render_error("not valid JSON", "invalid_json")
    assert rendered["requestId"] == "e1" and rendered["code"] == "invalid_json"
    assert {k: v for k, v in rendered.items() if k not in ("requestId", "timestamp")} == {
        k: v for k, v in expected.items() if k != "timestamp"
    }


def test_seed_errors_keep_the_type_error() -> None:
    """The seed dialects' error answers are {"type": "error", ...} as their clients expect."""
    for name in ("calledit", "titles", "strategy", "realestate"):
        assert (
            get_dialect(name).render_control(ErrorAnswer(message="m", code="c"))["type"] == "error"
        )


def test_realestate_control_frames_carry_a_timestamp() -> None:
    """Seed 004 puts a timestamp on every frame, control answers included."""
    frame = get_dialect("realestate").render_control(Pong(request_id="p"))
    assert isinstance(frame["timestamp"], float) and frame["type"] == "pong"
