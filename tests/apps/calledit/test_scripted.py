"""The scripted CalledIt agent: ask for the date tools first, then a record from their results."""

from __future__ import annotations

import json
from typing import Any

from agentstream.apps.calledit.schemas import MakeCall, PredictionRecord
from agentstream.apps.calledit.scripted import scripted_turns

CALL = MakeCall(prompt="It will snow in Paris by Friday.", timezone="Europe/Paris")


def tool_round(name: str, use_id: str, result: Any) -> list[dict[str, Any]]:
    text = result if isinstance(result, str) else json.dumps(result)
    return [
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": use_id, "name": name}}]},
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": use_id, "content": [{"text": text}]}}],
        },
    ]


def record_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    (turn,) = scripted_turns(CALL)
    steps = turn(messages, None, None)
    assert steps[-1]["tool"] == "PredictionRecord"
    return steps[-1]["input"]  # type: ignore[no-any-return]


def test_the_first_step_calls_both_date_tools_with_the_users_timezone() -> None:
    """Before any result: current_time, then parse_relative_date on the call's text."""
    (turn,) = scripted_turns(CALL)
    steps = turn([{"role": "user", "content": [{"text": "x"}]}], None, None)
    assert [s.get("tool") for s in steps] == [None, "current_time", "parse_relative_date"]
    assert steps[2]["input"] == {"text": CALL.prompt, "timezone": "Europe/Paris"}


def test_the_parsed_date_wins_over_today() -> None:
    """With both results, the record is checked on the parsed date, and validates."""
    messages = [
        *tool_round("current_time", "t1", {"date": "2030-01-01"}),
        *tool_round("parse_relative_date", "t2", {"date": "2030-01-04"}),
    ]
    record = record_of(messages)
    assert record["verification_date"] == "2030-01-04"
    assert record["prediction_statement"] == "It will snow in Paris by Friday."
    PredictionRecord.model_validate(record)


def test_without_a_parsed_date_today_is_used() -> None:
    """A parse result that is not JSON (or has no date) falls back to current_time's date."""
    messages = [
        *tool_round("current_time", "t1", {"date": "2030-01-01"}),
        *tool_round("parse_relative_date", "t2", "no date in this call"),
    ]
    assert record_of(messages)["verification_date"] == "2030-01-01"


def test_results_are_matched_to_their_tool_by_use_id() -> None:
    """Results are attributed by toolUseId, so the order of the rounds does not matter."""
    messages = [
        *tool_round("parse_relative_date", "b", {"date": "2030-03-03"}),
        *tool_round("current_time", "a", {"date": "2030-01-01"}),
    ]
    assert record_of(messages)["verification_date"] == "2030-03-03"
