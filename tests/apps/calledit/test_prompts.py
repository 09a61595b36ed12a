"""What CalledIt tells the model: a fixed system prompt and a user turn with the call."""

from __future__ import annotations

import json
import re

from agentstream.apps.calledit.prompts import SYSTEM_PROMPT, user_prompt
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
