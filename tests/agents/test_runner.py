"""AgentStream's translation of Strands' raw events into ours (fed dicts, no agent run)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentstream.agents.runner import AgentStream, TooManyCycles
from agentstream.protocol.events import Custom, StateDelta, StateSnapshot


class Record(BaseModel):
    """A structured result."""

    a: str


def stream() -> AgentStream:
    return AgentStream(None, "go", structured_output_model=Record)


def use(call_id: str, name: str, text: str) -> dict[str, object]:
    return {"current_tool_use": {"toolUseId": call_id, "name": name, "input": text}}


def test_prompt_progress_becomes_a_progress_event_with_engine_counts() -> None:
    """A model's promptProgress chunk is Custom('progress') with stage 'prompt' and its counts."""
    raw = {"event": {"promptProgress": {"processed": 128, "total": 956, "cached": 100}}}
    assert stream()._translate(raw) == [
        Custom(
            name="progress",
            value={"stage": "prompt", "processed": 128, "total": 956, "cached": 100},
        )
    ]


def test_output_tool_input_becomes_state_and_other_tools_do_not() -> None:
    """The output tool's growing input is state; another tool's input yields nothing."""
    s = stream()
    assert s._translate(use("t1", "search", '{"a": "x')) == []
    assert s._translate(use("t2", "Record", '{"a": "x')) == [StateSnapshot(snapshot={"a": "x"})]
    assert s._translate(use("t2", "Record", '{"a": "xy')) == [
        StateDelta(delta=[{"op": "replace", "path": "/a", "value": "xy"}])
    ]


def test_a_second_attempt_at_the_output_continues_from_the_client_state() -> None:
    """A retry (new tool-use id) starts its text over; the deltas still apply to what was sent."""
    s = stream()
    s._translate(use("t1", "Record", '{"a": "first try'))
    assert s._translate(use("t2", "Record", '{"a": "se')) == [
        StateDelta(delta=[{"op": "replace", "path": "/a", "value": "se"}])
    ]


def tool_turn(n: int) -> dict[str, object]:
    block = {"toolUse": {"toolUseId": f"t{n}", "name": "search", "input": {}}}
    return {"message": {"role": "assistant", "content": [block]}}


def test_an_agent_still_calling_tools_at_the_cycle_cap_is_stopped() -> None:
    """With max_cycles=3 the 3rd tool-calling turn raises TooManyCycles; 2 turns pass."""
    s = AgentStream(None, "go", max_cycles=3)
    s._translate(tool_turn(1))
    s._translate(tool_turn(2))
    with pytest.raises(TooManyCycles) as caught:
        s._translate(tool_turn(3))
    assert caught.value.code == "too_many_cycles"


def test_a_final_answer_at_the_cycle_cap_is_not_stopped() -> None:
    """A last turn with no tool call ends the loop itself, so the cap lets it through."""
    s = AgentStream(None, "go", max_cycles=2)
    s._translate(tool_turn(1))
    s._translate({"message": {"role": "assistant", "content": [{"text": "done"}]}})
