"""The strategy request and the backend JSON: parts validated alone, lenient shapes normalised."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentstream.apps.strategy.schemas import (
    MAX_MESSAGE_CHARS,
    InvalidStrategy,
    StrategyChat,
    StrategyHistory,
    validate_part,
    validate_strategy,
)
from agentstream.apps.strategy.scripted import build_strategy


@pytest.mark.parametrize(
    ("key", "value", "mentions"),
    [
        (
            "flowchart",
            {"nodes": [{"id": "a", "label": "A"}], "edges": [{"source": "a", "target": "zz"}]},
            "unknown node 'zz'",
        ),
        ("flowchart", {"nodes": []}, "flowchart.nodes"),
        ("strategy_metrics", {"impact_monthly_return_delta_pct": 3}, "estimated_capital"),
        ("guardrails", {"enabled": [{"status": "on"}]}, "guardrails.enabled.0"),
    ],
)
def test_part_validation_names_the_field(key: str, value: Any, mentions: str) -> None:
    """An invalid part raises InvalidStrategy naming the failing field."""
    with pytest.raises(InvalidStrategy) as exc:
        validate_part(key, value)
    assert mentions in str(exc.value)


def test_lenient_shapes_are_normalised() -> None:
    """Lower-case risk, string guardrails, from/to edges and missing labels are accepted."""
    strategy = validate_strategy(
        {
            "flowchart": {
                "nodes": [{"id": "a"}, {"id": "b", "label": "B"}],
                "edges": [{"from": "a", "to": "b"}],
            },
            "degen_class": {"selected": "medium"},
            "strategy_metrics": {
                "impact_monthly_return_delta_pct": "4.5",
                "estimated_capital_required_usd": 100,
            },
            "guardrails": {"enabled": ["Stop-loss"]},
        }
    )
    assert strategy["degen_class"] == {"selected": "Medium"}
    assert strategy["flowchart"]["nodes"][0] == {"id": "a", "label": "a", "type": "step"}
    assert strategy["flowchart"]["edges"] == [{"source": "a", "target": "b", "label": ""}]
    assert strategy["guardrails"]["enabled"] == [
        {"name": "Stop-loss", "status": "active", "value": None}
    ]
    assert validate_part("unknown_key", {}) is None


def test_the_last_user_turn_of_messages_is_the_message_and_the_rest_the_history() -> None:
    """The seed's {messages: [...]} form: the last user turn is asked, the others are history."""
    chat = StrategyChat.model_validate(
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "  $2k, aggressive  "},
            ]
        }
    )
    assert chat.message == "$2k, aggressive"
    assert [t.content for t in chat.history or []] == ["Hi", "Hello"]


def test_an_explicit_message_wins_over_messages() -> None:
    """With both, message is asked and messages do not replace the history."""
    chat = StrategyChat.model_validate(
        {"message": "mine", "messages": [{"role": "user", "content": "theirs"}]}
    )
    assert chat.message == "mine" and chat.history is None


@pytest.mark.parametrize(
    "body",
    [
        {"message": "   "},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "  "}]},
        {},
    ],
)
def test_a_request_without_a_user_message_is_refused(body: dict[str, Any]) -> None:
    """Blank messages, or messages that end with the assistant, name 'message' in the error."""
    with pytest.raises(ValidationError, match="'message' must be a non-empty string"):
        StrategyChat.model_validate(body)


def test_message_length_is_bounded_at_max_message_chars() -> None:
    """MAX_MESSAGE_CHARS passes; one more character fails."""
    assert StrategyChat(message="x" * MAX_MESSAGE_CHARS).conversationId == "default"
    with pytest.raises(ValidationError):
        StrategyChat(message="x" * (MAX_MESSAGE_CHARS + 1))


def test_conversation_ids_are_checked_against_the_pattern() -> None:
    """A conversation id with a space or over 100 characters is refused."""
    assert StrategyHistory(conversationId="a.b:c/1").conversationId == "a.b:c/1"
    for bad in ("a b", "x" * 101, ""):
        with pytest.raises(ValidationError):
            StrategyHistory(conversationId=bad)


def test_duplicate_node_ids_are_refused() -> None:
    """Two nodes with one id make the flowchart invalid."""
    with pytest.raises(InvalidStrategy, match="node ids must be unique"):
        validate_part("flowchart", {"nodes": [{"id": "a"}, {"id": "a"}]})


def test_a_valid_strategy_passes_unchanged_and_errors_name_the_path_from_the_root() -> None:
    """A valid strategy comes back as is; an error names the field path from the top, no dot."""
    strategy = build_strategy("$100, 3%", None)
    assert validate_strategy(strategy) == strategy
    with pytest.raises(InvalidStrategy) as exc:
        validate_strategy({**strategy, "degen_class": {"selected": "Extreme"}})
    assert str(exc.value).startswith("degen_class.selected:")
