"""The scripted model: turns played in order, tool input streamed in pieces, stop reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentstream.models.scripted import ScriptedModel, ScriptedModelError


async def play(turns: list[Any]) -> list[dict[str, Any]]:
    return [event async for event in ScriptedModel(turns).stream([])]


def tool_pieces(events: list[dict[str, Any]]) -> list[str]:
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    return [d["toolUse"]["input"] for d in deltas if "toolUse" in d]


async def test_tool_input_streams_in_several_pieces_that_join_to_the_input() -> None:
    """A tool step's JSON input arrives word by word, like a model writing it."""
    arguments = {"text": "snow in Boston tomorrow", "timezone": "America/New_York", "n": 3}
    events = await play([[{"tool": "parse", "input": arguments}]])
    pieces = tool_pieces(events)
    assert len(pieces) > 5
    assert json.loads("".join(pieces)) == arguments
    assert events[-2] == {"messageStop": {"stopReason": "tool_use"}}


async def test_a_stop_step_sets_the_stop_reason() -> None:
    """``{"stop": "max_tokens"}`` ends the reply with that reason after the text so far."""
    events = await play([[{"text": "cut here"}, {"stop": "max_tokens"}]])
    assert events[-2] == {"messageStop": {"stopReason": "max_tokens"}}


async def test_an_error_step_is_a_model_error() -> None:
    """``{"error": ...}`` raises ScriptedModelError, whose code is model_error."""
    with pytest.raises(ScriptedModelError) as caught:
        await play([[{"error": "boom"}]])
    assert caught.value.code == "model_error"
