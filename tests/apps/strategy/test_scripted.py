"""The scripted strategy builder: capital, monthly target and risk read from the user's words."""

from __future__ import annotations

from typing import Any

import pytest

from agentstream.apps.strategy.parser import BackendDone, MessageDone, parse_answer
from agentstream.apps.strategy.schemas import validate_strategy
from agentstream.apps.strategy.scripted import build_strategy, scripted_answer, scripted_turns


def metrics(text: str, previous: dict[str, Any] | None = None) -> tuple[float, float, str]:
    strategy = build_strategy(text, previous)
    m = strategy["strategy_metrics"]
    return (
        m["estimated_capital_required_usd"],
        m["impact_monthly_return_delta_pct"],
        strategy["degen_class"]["selected"],
    )


@pytest.mark.parametrize(
    ("text", "capital"),
    [
        ("I have $5000", 5000.0),
        ("I have $ 1,250.50 to spend", 1250.5),
        ("$5k please", 5000.0),
        ("2k dollars", 2000.0),
        ("300 USD", 300.0),
        ("no amount at all", 1000.0),
    ],
)
def test_capital_is_read_in_dollars_thousands_and_words(text: str, capital: float) -> None:
    """$N, $N,NNN.NN, Nk, 'N dollars' and 'N usd' are read; nothing found means $1000."""
    assert metrics(text)[0] == capital


@pytest.mark.parametrize(
    ("text", "risk"),
    [
        ("safe please, 10% a month", "Low"),
        ("go aggressive, 1% a month", "High"),
        ("6% a month", "High"),
        ("5.9% a month", "Medium"),
        ("3% a month", "Medium"),
        ("2.9% a month", "Low"),
    ],
)
def test_risk_follows_risk_words_first_then_the_monthly_target(text: str, risk: str) -> None:
    """Risk words win; otherwise 6% and up is High, 3% up to 6% Medium, below 3% Low."""
    assert metrics(text)[2] == risk


def test_what_the_turn_leaves_out_comes_from_the_previous_strategy() -> None:
    """A follow-up without numbers keeps the previous capital and monthly target."""
    previous = build_strategy("I have $7000 and want 4%", None)
    assert metrics("make it safer", previous)[:2] == (7000.0, 4.0)
    assert metrics("now with $100", previous)[:2] == (100.0, 4.0)


def test_the_answer_is_a_tagged_message_and_a_valid_strategy() -> None:
    """The scripted answer parses into the message and a strategy that validates as is."""
    events = parse_answer(scripted_answer("I have $5000, conservative, 3% a month", None))
    (message,) = [e.text for e in events if isinstance(e, MessageDone)]
    (done,) = [e for e in events if isinstance(e, BackendDone)]
    assert message.startswith(
        "I've built a low-risk strategy for your $5,000, targeting 3% a month"
    )
    assert validate_strategy(done.value) == done.value


def test_the_turn_answers_the_latest_user_message() -> None:
    """Of several user turns, the newest one is answered."""
    (turn,) = scripted_turns(None)
    messages = [
        {"role": "user", "content": [{"text": "I have $100"}]},
        {"role": "assistant", "content": [{"text": "ok"}]},
        {"role": "user", "content": [{"text": "now $900"}]},
    ]
    (step,) = turn(messages, None, None)
    assert step == {"text": scripted_answer("now $900", None)}
