"""Earlier strategy turns as model messages: alternating, tagged, no dangling user turn."""

from __future__ import annotations

import json

from agentstream.apps.strategy.parser import BackendDone, parse_answer
from agentstream.apps.strategy.prompts import SYSTEM_PROMPT, history_messages, tagged_answer
from agentstream.apps.strategy.schemas import validate_strategy


def test_an_assistant_turn_with_a_strategy_is_shown_in_the_tagged_format() -> None:
    """The model sees its earlier answer as <user_message> then <backend> with the JSON."""
    strategy = {"degen_class": {"selected": "Low"}}
    messages = history_messages(
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "Done.", "strategy_json": strategy},
        ]
    )
    assert messages[1]["content"][0]["text"] == tagged_answer("Done.", strategy)
    assert tagged_answer("Done.", strategy) == (
        "<user_message>\nDone.\n</user_message>\n<backend>\n"
        + json.dumps(strategy)
        + "\n</backend>"
    )


def test_a_turn_without_a_strategy_has_an_empty_backend() -> None:
    """No strategy: the backend block is an empty object, so the format stays the same."""
    assert tagged_answer("Hi", None).endswith("<backend>\n{}\n</backend>")


def test_consecutive_turns_of_one_role_are_merged() -> None:
    """Two user turns in a row become one message, joined by a blank line."""
    messages = history_messages(
        [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
        ]
    )
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"][0]["text"] == "a\n\nb"


def test_a_leading_assistant_and_a_trailing_user_turn_are_dropped() -> None:
    """History starts with the user and ends with the assistant: the new message follows it."""
    messages = history_messages(
        [
            {"role": "assistant", "content": "welcome"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "unanswered"},
        ]
    )
    assert [(m["role"], m["content"][0]["text"]) for m in messages] == [
        ("user", "q"),
        ("assistant", "a"),
    ]


def test_blank_turns_are_skipped_and_unknown_roles_count_as_user() -> None:
    """Whitespace-only turns vanish; a role other than assistant is the user's."""
    messages = history_messages(
        [
            {"role": "system", "content": "q"},
            {"role": "assistant", "content": "  "},
            {"role": "user", "content": "r"},
            {"role": "assistant", "content": "a"},
        ]
    )
    assert [(m["role"], m["content"][0]["text"]) for m in messages] == [
        ("user", "q\n\nr"),
        ("assistant", "a"),
    ]


def test_the_system_prompts_example_parses_as_an_answer() -> None:
    """The worked example in the prompt is a tagged answer whose backend is a valid strategy."""
    example = SYSTEM_PROMPT[SYSTEM_PROMPT.index("<user_message>") :]
    (done,) = [e for e in parse_answer(example) if isinstance(e, BackendDone)]
    assert validate_strategy(done.value)["degen_class"] == {"selected": "High"}
