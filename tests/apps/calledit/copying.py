"""A scripted CalledIt model whose first record copies a prompt example (as Qwen 1.5B did)."""

from __future__ import annotations

from typing import Any

import pytest

from agentstream.apps.calledit.schemas import MakeCall


def copy_the_first_record(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the scripted model's first record cite AEMET; returns each record's first source."""
    from agentstream.apps.calledit import agent
    from agentstream.apps.calledit.scripted import scripted_turns

    asked: list[str] = []

    def copying(request: MakeCall) -> list[Any]:
        (turn,) = scripted_turns(request)

        def first_copies(messages: list[dict[str, Any]], specs: Any, choice: Any) -> Any:
            steps = turn(messages, specs, choice)
            for step in steps:
                if step.get("tool") == "PredictionRecord":
                    asked.append(step["input"]["verification_method"]["source"][0])
                    if len(asked) == 1:
                        step["input"]["verification_method"]["source"] = ["AEMET Madrid Retiro"]
            if len(asked) == 1 and "text" in steps[0]:
                steps[0] = {"text": "AEMET publishes Madrid's station readings. "}
            return steps

        return [first_copies]

    monkeypatch.setattr(agent, "scripted_turns", copying)
    return asked
