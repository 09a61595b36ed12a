"""The emulator's scripted Bedrock: schema-valid tool inputs when a request requires a tool."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import jsonschema
import pytest
from strands.tools.structured_output.structured_output_utils import (
    convert_pydantic_to_tool_spec,
)

from agentstream.apps.calledit.schemas import PredictionRecord
from agentstream.aws.emulator.scripted import TEXT, instance, required_tool, tool_input, turn

SPEC = {"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}}


def test_a_prediction_record_instance_validates_against_the_model() -> None:
    """CalledIt's record tool (as Strands builds it) gets an input its pydantic model accepts."""
    spec = convert_pydantic_to_tool_spec(PredictionRecord)
    value = tool_input(spec)
    record = PredictionRecord.model_validate(value)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record.verification_date)
    assert len(record.verification_method.source) == 1


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "email"},
        {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        {"type": "string", "pattern": r"^\d\d:\d\d$"},
        {"type": "string", "minLength": 12},
        {"type": "string", "maxLength": 3},
        {"type": "integer", "minimum": 5, "maximum": 9},
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "integer", "maximum": -3},
        {"type": "array", "items": {"type": "boolean"}, "minItems": 3},
        {"type": "array", "items": {"type": "string"}, "maxItems": 0},
        {"enum": ["b", "a"]},
        {"const": 7},
        {"type": ["null", "string"]},
        {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 2}]},
        {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}]},
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/X"}},
            "required": ["x"],
            "$defs": {"X": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        },
    ],
)
def test_instances_are_valid_against_their_schema(schema: dict[str, Any]) -> None:
    """Each keyword handled (format, pattern, lengths, bounds, enum, const, refs) is honoured."""
    jsonschema.validate(instance(schema), schema, format_checker=jsonschema.FormatChecker())


def test_a_date_format_is_today_in_utc() -> None:
    """``format: date`` is today's date, so apps that refuse past dates accept it."""
    assert (
        instance({"type": "string", "format": "date"}) == dt.datetime.now(dt.UTC).date().isoformat()
    )


def test_required_fields_are_filled_and_optional_defaults_left_to_the_app() -> None:
    """Required properties always appear; an optional one with a default is left out."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "status": {"type": "string", "default": "pending"},
            "note": {"type": "string"},
        },
        "required": ["name"],
    }
    assert instance(schema) == {"name": "name", "note": "note"}


def test_strings_name_their_property() -> None:
    """A plain string is its property's name in words: readable in a streamed record."""
    schema = {"type": "object", "properties": {"first_name": {"type": "string"}}}
    assert instance(schema) == {"first_name": "first name"}


def test_required_tool_follows_the_tool_choice() -> None:
    """``tool`` names the tool, ``any`` takes the first offered, ``auto`` requires none."""
    specs = [{"name": "a"}, {"name": "b"}]
    assert required_tool(specs, {"tool": {"name": "b"}}) == "b"
    assert required_tool(specs, {"any": {}}) == "a"
    assert required_tool(specs, {"auto": {}}) is None
    assert required_tool([], {"any": {}}) is None


def test_turn_calls_the_forced_tool_with_a_valid_input() -> None:
    """A forced choice makes one call of that tool; otherwise the reply is text."""
    spec = {
        "name": "Answer",
        "inputSchema": {
            "json": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        },
    }
    assert turn([], [SPEC, spec], {"tool": {"name": "Answer"}}) == [
        {"tool": "Answer", "input": {"n": 0}}
    ]
    assert turn([], [SPEC, spec], {"auto": {}}) == [{"text": TEXT}]
    assert turn([], None, None) == [{"text": TEXT}]


def test_turn_answers_text_when_the_forced_tool_is_not_offered() -> None:
    """Error branch: a choice naming an absent tool gets text, never a call of a made-up tool."""
    assert turn([], [SPEC], {"tool": {"name": "missing"}}) == [{"text": TEXT}]
