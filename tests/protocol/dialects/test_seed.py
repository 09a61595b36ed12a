"""The seed envelope: every frame gets runId and seq; errors use the seed's ``error`` shape."""

from __future__ import annotations

from typing import Any

import pytest

from agentstream.protocol.control import ErrorAnswer, ResumeAnswer
from agentstream.protocol.dialects.seed import SeedDialect, tool_input
from agentstream.protocol.events import Event, TextMessageChunk, stamp


def _body(event: Event) -> dict[str, Any]:
    return {"type": "body", "runId": "from-body", "seq": -1}


DIALECT = SeedDialect("seed-test", _body)


def test_the_dialect_takes_its_name() -> None:
    """A seed dialect answers to the name it was built with."""
    assert DIALECT.name == "seed-test"


def test_the_envelope_is_added_and_overrides_the_body() -> None:
    """The frame carries the event's runId and seq even when the body tried to set its own."""
    event = stamp(TextMessageChunk(delta="x"), run_id="run_s", seq=12, ts=0.0)
    assert DIALECT.render(event) == {"type": "body", "runId": "run_s", "seq": 12}


def test_errors_outside_a_run_use_the_seed_error_shape() -> None:
    """An error with no run is ``{"type": "error", "message", "code"}`` plus any extra fields."""
    assert DIALECT.render_error("m", "c", requestId="r") == {
        "type": "error",
        "message": "m",
        "code": "c",
        "requestId": "r",
    }


def test_control_answers_render_without_the_run_envelope() -> None:
    """Control frames belong to no seq: they get no ``seq`` key, errors keep the ``error`` type."""
    resume = DIALECT.render_control(ResumeAnswer(run_id="run_s", state="running", last_seq=4))
    assert resume == {"type": "resume", "runId": "run_s", "state": "running", "lastSeq": 4}
    error = DIALECT.render_control(ErrorAnswer(message="m", code="c", request_id=2))
    assert error == {"type": "error", "message": "m", "code": "c", "requestId": 2}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        ("[1, 2]", [1, 2]),
        ("{broken", "{broken"),
        ("plain words", "plain words"),
    ],
)
def test_tool_input_parses_json_and_keeps_anything_else_as_text(
    arguments: str, expected: Any
) -> None:
    """Tool arguments come out as JSON when they are JSON, ``{}`` when empty, else the raw text."""
    assert tool_input(arguments) == expected
