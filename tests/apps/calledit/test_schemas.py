"""CalledIt's request and record: timezones checked, lists bounded and cleaned, dates real."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentstream.apps.calledit.schemas import (
    MAX_PROMPT_CHARS,
    MakeCall,
    PredictionRecord,
    VerificationMethod,
)


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prediction_statement": "It will snow in Paris on 2030-01-05.",
        "verification_date": "2030-01-05",
        "verification_method": {
            "source": ["Météo-France"],
            "criteria": ["snow"],
            "steps": ["look"],
        },
    }
    return {**base, **changes}


def test_a_call_is_stripped_defaults_to_utc_and_ignores_extra_fields() -> None:
    """Prompt whitespace goes, the timezone defaults to UTC, action/requestId are ignored."""
    call = MakeCall.model_validate({"action": "makecall", "prompt": "  snow  ", "requestId": "r"})
    assert (call.prompt, call.timezone) == ("snow", "UTC")


def test_an_unknown_timezone_is_refused_by_name() -> None:
    """A timezone that is not IANA fails validation, naming the timezone field."""
    assert MakeCall(prompt="x", timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(ValidationError, match="timezone"):
        MakeCall(prompt="x", timezone="Mars/Olympus")


def test_the_prompt_is_bounded_on_both_sides() -> None:
    """Blank fails; MAX_PROMPT_CHARS passes; one more fails."""
    assert MakeCall(prompt="x" * MAX_PROMPT_CHARS)
    for bad in ("   ", "x" * (MAX_PROMPT_CHARS + 1)):
        with pytest.raises(ValidationError):
            MakeCall(prompt=bad)


def test_blank_items_are_dropped_and_the_rest_stripped() -> None:
    """Empty and whitespace items vanish; the others lose surrounding whitespace."""
    method = VerificationMethod(source=[" BBC ", "", "  "], criteria=["c"], steps=["s"])
    assert method.source == ["BBC"]


def test_a_list_of_only_blank_items_is_refused() -> None:
    """Items that are all blank leave nothing to check with: invalid, naming the field."""
    with pytest.raises(ValidationError, match="at least one non-empty item"):
        VerificationMethod(source=["  "], criteria=["c"], steps=["s"])


def test_list_and_item_lengths_are_bounded() -> None:
    """4 sources pass and 5 fail; an item of 300 characters passes and 301 fails."""
    assert VerificationMethod(source=["s"] * 4, criteria=["c"], steps=["x" * 300])
    with pytest.raises(ValidationError):
        VerificationMethod(source=["s"] * 5, criteria=["c"], steps=["s"])
    with pytest.raises(ValidationError):
        VerificationMethod(source=["s"], criteria=["c"], steps=["x" * 301])


def test_a_record_validates_and_starts_pending() -> None:
    """A complete record passes with initial_status pending."""
    assert PredictionRecord.model_validate(record()).initial_status == "pending"


@pytest.mark.parametrize("date", ["2030-02-30", "2030-1-05", "05/01/2030", ""])
def test_a_verification_date_must_be_a_real_iso_date(date: str) -> None:
    """Impossible days and other formats are refused."""
    with pytest.raises(ValidationError):
        PredictionRecord.model_validate(record(verification_date=date))


def test_a_record_with_an_unknown_field_or_another_status_is_refused() -> None:
    """extra=forbid and the pending-only status keep the record to its schema."""
    with pytest.raises(ValidationError):
        PredictionRecord.model_validate(record(notes="x"))
    with pytest.raises(ValidationError):
        PredictionRecord.model_validate(record(initial_status="verified"))
