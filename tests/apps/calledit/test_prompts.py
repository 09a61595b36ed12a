"""What CalledIt tells the model: a fixed system prompt and a user turn with the call."""

from __future__ import annotations

import json
import re

from agentstream.apps.calledit.prompts import (
    EXAMPLE_TERMS,
    SYSTEM_PROMPT,
    leaked_terms,
    retry_prompt,
    system_prompt,
    user_prompt,
)
from agentstream.apps.calledit.schemas import PredictionRecord


def test_the_user_turn_carries_the_call_and_the_timezone() -> None:
    """The call and the timezone are in the user turn, each on its own line."""
    assert user_prompt("Snow in Paris by Friday", "Europe/Paris") == (
        "My call: Snow in Paris by Friday\nMy timezone: Europe/Paris."
    )


def test_every_example_record_in_the_prompt_is_a_valid_prediction_record() -> None:
    """The three style examples validate against the schema the model must fill."""
    records = re.findall(r"^Record: (\{.*?\})$(?=\nCall:|\n\Z)", SYSTEM_PROMPT, re.S | re.M)
    assert len(records) == 3
    for record in records:
        PredictionRecord.model_validate(json.loads(record.replace("\n", " ")))


def test_leaked_terms_names_example_words_the_call_does_not_use() -> None:
    """A Bitcoin record citing AEMET's Madrid readings leaks; a Madrid call may name Madrid."""
    record = (
        '{"source": ["AEMET daily observations for Madrid Retiro"], "criteria": ["above 150k"]}'
    )
    assert leaked_terms(record, "Bitcoin will trade above 150,000 dollars in 2027") == [
        "AEMET",
        "Madrid",
        "Retiro",
    ]
    assert leaked_terms(record, "Madrid will top 40C at Retiro, says AEMET") == []
    assert leaked_terms('{"source": ["CoinGecko"]}', "Bitcoin above 150k") == []
    assert leaked_terms('{"source": ["Madridista forums"]}', "Real will win") == []


def test_every_example_term_appears_in_the_examples() -> None:
    """The leak list names only what the examples really say (a renamed example updates it)."""
    for term in EXAMPLE_TERMS:
        assert term in SYSTEM_PROMPT


def test_the_retry_turn_repeats_the_call_once() -> None:
    """Asking again gives the call once more and names no example."""
    text = retry_prompt("Bitcoin above 150k")
    assert text.count("Bitcoin above 150k") == 1
    assert not any(term in text for term in EXAMPLE_TERMS)


def test_a_system_prompt_can_leave_out_the_examples_that_leaked() -> None:
    """Leaving out AEMET drops the weather example only, and says two examples remain."""
    shorter = system_prompt(("AEMET", "Madrid"))
    assert "AEMET" not in shorter and "Arsenal" in shorter and "Nintendo" in shorter
    assert "Two unrelated examples" in shorter
    assert shorter.startswith(SYSTEM_PROMPT.split("Three unrelated")[0])
