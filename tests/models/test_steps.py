"""JSON steps: schemas, and decoding generated text into Strands stream events."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentstream.models import steps
from agentstream.models.steps import (
    ForcedDecoder,
    NotJsonOutput,
    StepDecoder,
    TextDecoder,
)

ADD = {
    "name": "add",
    "description": "Add two integers.",
    "inputSchema": {
        "json": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        }
    },
}
NESTED = {
    "name": "book",
    "inputSchema": {
        "json": {
            "type": "object",
            "properties": {"when": {"$ref": "#/$defs/Slot"}},
            "required": ["when"],
            "$defs": {
                "Slot": {"type": "object", "properties": {"day": {"type": "string"}}},
            },
        }
    },
}


def feed_all(decoder: Any, pieces: list[str], finish: str = "stop") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    return events + decoder.finish(finish)


def texts(events: list[dict[str, Any]]) -> list[str]:
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    return [d["text"] for d in deltas if "text" in d]


def tool_input(events: list[dict[str, Any]]) -> str:
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    return "".join(d["toolUse"]["input"] for d in deltas if "toolUse" in d)


def chars(text: str) -> list[str]:
    return list(text)


def test_tool_step_streams_message_then_tool_call() -> None:
    """A tool step gives text deltas, then a toolUse block whose input is the arguments JSON."""
    step = (
        '{"message": "Adding them.", "tool_call": {"name": "add", "arguments": {"a": 2, "b": 3}}}'
    )
    events = feed_all(StepDecoder(), chars(step))
    assert "".join(texts(events)) == "Adding them."
    assert len(texts(events)) > 3
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert starts[0] == {"contentBlockIndex": 0, "start": {}}
    assert starts[1]["start"]["toolUse"]["name"] == "add"
    assert starts[1]["start"]["toolUse"]["toolUseId"].startswith("tooluse_")
    assert json.loads(tool_input(events)) == {"a": 2, "b": 3}
    assert events[-1] == {"messageStop": {"stopReason": "tool_use"}}
    assert [e for e in events if "contentBlockStop" in e] == [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 1}},
    ]


def test_text_streams_before_the_step_is_complete() -> None:
    """The message's first words are emitted before the closing quote is generated."""
    decoder = StepDecoder()
    events = decoder.feed('{"message": "Hel') + decoder.feed("lo")
    assert texts(events) == ["Hel", "lo"]


def test_answer_step_ends_the_turn() -> None:
    """A step with a null tool call is plain text and ends with end_turn."""
    events = feed_all(StepDecoder(), chars('{"message": "5", "tool_call": null}'))
    assert texts(events) == ["5"]
    assert events[-1] == {"messageStop": {"stopReason": "end_turn"}}


def test_truncated_step_stops_with_max_tokens() -> None:
    """A step cut off by the token limit reports max_tokens and closes its block."""
    events = feed_all(StepDecoder(), ['{"message": "partial'], finish="length")
    assert events[-2:] == [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
    ]


def test_unconstrained_output_is_refused() -> None:
    """Output that is not a JSON object (schema not applied) raises instead of being misread."""
    with pytest.raises(NotJsonOutput):
        StepDecoder().feed("Sure! Here is")


def test_forced_call_streams_the_whole_output_as_tool_input() -> None:
    """A forced call emits one toolUse block whose input is the generated object."""
    events = feed_all(ForcedDecoder("Sum"), [" ", '{"result"', ": 5}"])
    assert events[0]["contentBlockStart"]["start"]["toolUse"]["name"] == "Sum"
    assert json.loads(tool_input(events)) == {"result": 5}
    assert events[-1] == {"messageStop": {"stopReason": "tool_use"}}


def test_text_decoder_passes_pieces_through() -> None:
    """Plain text pieces become text deltas in one block."""
    events = feed_all(TextDecoder(), ["Hel", "", "lo"])
    assert texts(events) == ["Hel", "lo"]
    assert events[0] == {"contentBlockStart": {"contentBlockIndex": 0, "start": {}}}


@given(message=st.text(), cuts=st.lists(st.integers(min_value=0, max_value=400)))
def test_any_message_in_any_pieces_round_trips(message: str, cuts: list[int]) -> None:
    """However the JSON is split into pieces, the text deltas concatenate to the message."""
    step = json.dumps({"message": message, "tool_call": None})
    bounds = sorted({0, len(step), *(c for c in cuts if c < len(step))})
    pieces = [step[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert "".join(texts(feed_all(StepDecoder(), pieces))) == message


def test_step_schema_accepts_calls_and_answers() -> None:
    """The step schema accepts a call or an answer; rejects unknown tools, extras, empty text."""
    schema = steps.step_schema([ADD, NESTED], answer=True)
    schema.pop("x-guidance")
    ok = [
        {"message": "Adding.", "tool_call": {"name": "add", "arguments": {"a": 1, "b": 2}}},
        {
            "message": "Booking.",
            "tool_call": {"name": "book", "arguments": {"when": {"day": "Mon"}}},
        },
        {"message": "done", "tool_call": None},
    ]
    bad = [
        {"message": "x", "tool_call": {"name": "mul", "arguments": {"a": 1, "b": 2}}},
        {"message": "x", "tool_call": {"name": "add", "arguments": {"a": 1, "b": 2, "c": 3}}},
        {"message": "x", "tool_call": {"name": "book", "arguments": {"when": {"hour": 3}}}},
        {"message": "", "tool_call": None},
    ]
    for step in ok:
        jsonschema.validate(step, schema)
    for step in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(step, schema)


def test_step_schema_without_answer_requires_a_call() -> None:
    """With answers disallowed (tool_choice any) a null tool call is invalid."""
    schema = steps.step_schema([ADD], answer=False)
    schema.pop("x-guidance")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"message": "x", "tool_call": None}, schema)


def test_forced_schema_is_the_closed_input_schema() -> None:
    """A forced call is constrained to the tool's own input schema, closed to extra keys."""
    schema = steps.forced_schema(ADD)
    assert schema["properties"] == ADD["inputSchema"]["json"]["properties"]
    assert schema["additionalProperties"] is False
    assert "additionalProperties" not in ADD["inputSchema"]["json"]  # the spec is not mutated
