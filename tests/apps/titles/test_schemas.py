"""The title chat's requests: project ids, input bounds, and the seed's chat_history roles."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentstream.apps.titles.schemas import MAX_INPUT_CHARS, ChatTurn, History, StreamTitles


@pytest.mark.parametrize("role", ["ai", "bot", "model", "assistant"])
def test_the_seeds_bot_roles_are_the_assistant(role: str) -> None:
    """ai, bot and model (what seed clients send) are read as assistant."""
    assert ChatTurn(role=role, content="x").role == "assistant"  # type: ignore[arg-type]


def test_an_unknown_role_is_refused() -> None:
    """A role that is neither user nor an assistant alias fails validation."""
    with pytest.raises(ValidationError):
        ChatTurn(role="system", content="x")  # type: ignore[arg-type]


def test_user_input_is_stripped_and_bounded_on_both_sides() -> None:
    """Input is stripped; blank fails; MAX_INPUT_CHARS passes and one more fails."""
    assert StreamTitles(projectId="p", userInput="  idea ").userInput == "idea"
    assert StreamTitles(projectId="p", userInput="x" * MAX_INPUT_CHARS)
    for bad in ("   ", "x" * (MAX_INPUT_CHARS + 1)):
        with pytest.raises(ValidationError):
            StreamTitles(projectId="p", userInput=bad)


@pytest.mark.parametrize("project", ["", "a b", "x" * 101, "../p?"])
def test_project_ids_outside_the_pattern_are_refused(project: str) -> None:
    """Empty, spaced, over 100 characters or with other punctuation: refused in both requests."""
    with pytest.raises(ValidationError):
        StreamTitles(projectId=project, userInput="idea")
    with pytest.raises(ValidationError):
        History(projectId=project)


def test_a_project_id_of_100_allowed_characters_passes() -> None:
    """Letters, digits and ._:@+=/- up to 100 characters make a project id."""
    project = ("a.b_c:d@e+f=g/h-" * 7)[:100]
    assert History(projectId=project).projectId == project


def test_chat_history_defaults_empty_and_holds_at_most_100_turns() -> None:
    """No history is an empty list; 100 turns pass and 101 fail."""
    assert StreamTitles(projectId="p", userInput="i").chat_history == []
    turn = {"role": "user", "content": "x"}
    assert (
        len(StreamTitles(projectId="p", userInput="i", chat_history=[turn] * 100).chat_history)
        == 100
    )  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        StreamTitles(projectId="p", userInput="i", chat_history=[turn] * 101)  # type: ignore[list-item]
