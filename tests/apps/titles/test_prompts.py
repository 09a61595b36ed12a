"""The title chat's history as Strands messages: alternating roles, no dangling user turn."""

from __future__ import annotations

from typing import Any

from agentstream.apps.titles.prompts import SYSTEM_PROMPT, history_messages


def roles_and_texts(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"][0]["text"]) for m in history_messages(turns)]


def test_a_whole_exchange_is_kept_in_order() -> None:
    """User then assistant turns come back as they were, stripped."""
    turns = [
        {"role": "user", "content": " post about bread "},
        {"role": "assistant", "content": "1. Bread"},
    ]
    assert roles_and_texts(turns) == [("user", "post about bread"), ("assistant", "1. Bread")]


def test_turns_of_one_role_in_a_row_are_merged_with_a_blank_line() -> None:
    """Two assistant turns in a row become one message (Strands wants roles alternating)."""
    turns = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]
    assert roles_and_texts(turns) == [("user", "q"), ("assistant", "a\n\nb")]


def test_a_leading_assistant_and_a_trailing_user_turn_are_dropped() -> None:
    """The history starts with the user and ends answered; the new input follows it."""
    turns = [
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "never answered"},
    ]
    assert roles_and_texts(turns) == [("user", "q"), ("assistant", "a")]


def test_empty_and_missing_content_is_skipped_and_other_roles_are_the_user() -> None:
    """Blank or missing content vanishes; any role but assistant counts as the user's."""
    turns = [
        {"role": "user"},
        {"role": "human", "content": "q"},
        {"role": "assistant", "content": "   "},
        {"role": "assistant", "content": "a"},
    ]
    assert roles_and_texts(turns) == [("user", "q"), ("assistant", "a")]


def test_the_system_prompt_asks_for_five_numbered_titles_with_an_example() -> None:
    """The prompt's example is the numbered list of five it asks for."""
    assert "five short, specific titles as a numbered list" in SYSTEM_PROMPT
    assert [line[:2] for line in SYSTEM_PROMPT.splitlines() if line[:1].isdigit()] == [
        "1.",
        "2.",
        "3.",
        "4.",
        "5.",
    ]
