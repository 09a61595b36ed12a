"""The orchestrator's request: query types normalised, questions bounded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentstream.apps.realestate.schemas import MAX_QUESTION_CHARS, AnyMessage, Invoke


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "general"),
        ("", "general"),
        ("  Building-Codes ", "building_codes"),
        ("Market   Trends", "market_trends"),
        ("zoning", "zoning"),
    ],
)
def test_query_type_is_lower_snake_case_and_defaults_to_general(
    given: str | None, expected: str
) -> None:
    """Case, dashes and spaces fold to snake_case; missing or blank is general."""
    assert Invoke(question="q", query_type=given).query_type == expected  # type: ignore[arg-type]


def test_question_is_stripped_and_bounded_on_both_sides() -> None:
    """A question is stripped; blank is refused; MAX_QUESTION_CHARS passes and one more fails."""
    assert Invoke(question="  where?  ").question == "where?"
    assert Invoke(question="x" * MAX_QUESTION_CHARS).question
    with pytest.raises(ValidationError):
        Invoke(question="   ")
    with pytest.raises(ValidationError):
        Invoke(question="x" * (MAX_QUESTION_CHARS + 1))


def test_context_is_optional_and_unknown_fields_are_ignored() -> None:
    """context defaults to None; extra fields (action, requestId) do not fail the request."""
    request = Invoke.model_validate({"question": "q", "action": "invoke", "requestId": "r"})
    assert request.context is None and not hasattr(request, "requestId")


def test_any_message_keeps_whatever_it_was_sent() -> None:
    """The $default route's model accepts and keeps any fields."""
    assert AnyMessage.model_validate({"x": 1}).model_dump() == {"x": 1}
