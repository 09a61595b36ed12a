"""AgentRun and agent_model: the one way apps run an agent (scripted model, real Strands agent)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import jsonpatch
import pytest
from pydantic import BaseModel
from strands import Agent

from agentstream.agents.invoke import AgentRun, TokenLimit, agent_model
from agentstream.gateway.context import RouteContext
from agentstream.gateway.settings import Settings
from agentstream.models.scripted import ScriptedModel
from agentstream.protocol.events import (
    Event,
    StateDelta,
    StateSnapshot,
    TextMessageChunk,
    ToolCallChunk,
)
from agentstream.runs.run import Run


class Answer(BaseModel):
    """A small structured result."""

    title: str
    tags: list[str]


def context(model: str = "scripted") -> RouteContext:
    return RouteContext(
        connection_id="c1", user="u1", settings=Settings(model=model), run=Run(owner="u1")
    )


def agent(turns: list[Any], delay: float = 0.0) -> Agent:
    return Agent(model=ScriptedModel(turns, delay=delay), callback_handler=None)


async def collect(run: AgentRun) -> list[Event]:
    return [event async for event in run.events()]


def replay(events: list[Event]) -> Any:
    state: Any = None
    for event in events:
        if isinstance(event, StateSnapshot):
            state = copy.deepcopy(event.snapshot)
        elif isinstance(event, StateDelta):
            state = jsonpatch.apply_patch(state, event.delta)
    return state


ANSWER = {"title": "Growing tomatoes on a balcony", "tags": ["garden", "balcony", "food"]}


async def test_structured_output_streams_as_state_and_ends_validated() -> None:
    """The output tool's input streams as a snapshot then deltas; the result is validated."""
    turns = [[{"text": "Here it is. "}, {"tool": "Answer", "input": ANSWER}]]
    run = AgentRun(context(), agent(turns), "go", output_model=Answer)
    events = await collect(run)
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("TextMessageChunk") < kinds.index("StateSnapshot")
    assert kinds.count("StateSnapshot") == 1 and kinds.count("StateDelta") > 5
    assert not any(isinstance(e, ToolCallChunk) for e in events)  # the output tool is no chip
    assert replay(events) == ANSWER
    assert run.structured_output == Answer(**ANSWER)


async def test_settle_sends_the_difference_to_the_final_record() -> None:
    """After an app corrects the result, settle's delta brings the streamed state to it."""
    turns = [[{"tool": "Answer", "input": ANSWER}]]
    run = AgentRun(context(), agent(turns), "go", output_model=Answer)
    events = await collect(run)
    final = {**ANSWER, "title": "Corrected"}
    assert replay(events + run.settle(final)) == final


async def test_token_limit_is_a_clear_error() -> None:
    """A reply cut at the token limit raises TokenLimit (code max_tokens), not Strands' error."""
    turns = [[{"text": "a long answer that"}, {"stop": "max_tokens"}]]
    run = AgentRun(context(), agent(turns), "go")
    with pytest.raises(TokenLimit) as caught:
        await collect(run)
    assert caught.value.code == "max_tokens"


async def test_keep_truncated_ends_quietly_with_the_text_so_far() -> None:
    """With keep_truncated the run ends without error, ``truncated`` set, text kept."""
    turns = [[{"text": "a long answer that"}, {"stop": "max_tokens"}]]
    run = AgentRun(context(), agent(turns), "go", keep_truncated=True)
    events = await collect(run)
    assert run.truncated
    assert "".join(e.delta for e in events if isinstance(e, TextMessageChunk)) == (
        "a long answer that"
    )


async def test_a_run_cancel_stops_the_model_and_raises_cancelled() -> None:
    """The run's cancel stops the model mid-text; events() ends with CancelledError."""
    ctx = context()
    turns = [[{"text": " ".join(f"word{i}" for i in range(200))}]]
    run = AgentRun(ctx, agent(turns, delay=0.001), "go")
    seen = 0
    with pytest.raises(asyncio.CancelledError):
        async for event in run.events():
            seen += isinstance(event, TextMessageChunk)
            if seen == 3:
                assert ctx.run is not None
                ctx.run.cancel_signal.set()
    assert seen < 50


async def test_stop_ends_the_answer_without_cancelling_the_run() -> None:
    """stop() (the app has enough) ends the model early and events() returns normally."""
    turns = [[{"text": " ".join(f"word{i}" for i in range(200))}]]
    run = AgentRun(context(), agent(turns, delay=0.001), "go")
    seen = 0
    async for event in run.events():
        seen += isinstance(event, TextMessageChunk)
        if seen == 3:
            run.stop()
    assert seen < 50
    assert not run.cancelled


def test_agent_model_applies_only_the_settings_the_model_has() -> None:
    """A local model takes max_tokens and tool_plan; a setting it lacks is skipped."""
    model = agent_model(context("gemma"), max_tokens=123, tool_plan=[{"name": "x"}], nope=1)
    config = model.get_config()
    assert config["max_tokens"] == 123 and config["tool_plan"] == [{"name": "x"}]
    assert "nope" not in config


def test_agent_model_leaves_a_model_without_those_settings_alone() -> None:
    """The scripted model has no max_tokens: its config stays empty."""
    model = agent_model(context(), scripted=[[{"text": "hi"}]], max_tokens=5)
    assert model.get_config() == {}


async def test_only_the_output_tool_becomes_state_other_tools_stay_tool_calls() -> None:
    """A real tool's input is a tool call, never state; the state is the output tool's alone."""
    from strands import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    turns = [
        [{"tool": "add", "input": {"a": 2, "b": 3}}],
        [{"tool": "Answer", "input": ANSWER}],
    ]
    model = ScriptedModel(turns)
    run = AgentRun(
        context(), Agent(model=model, tools=[add], callback_handler=None), "go", output_model=Answer
    )
    events = await collect(run)
    snapshots = [e.snapshot for e in events if isinstance(e, StateSnapshot)]
    assert [e.tool_call_name for e in events if isinstance(e, ToolCallChunk)] == ["add"]
    assert len(snapshots) == 1 and set(snapshots[0]) <= set(ANSWER)
    assert replay(events) == ANSWER


async def test_warm_agent_does_nothing_for_a_model_without_a_prompt_cache() -> None:
    """A scripted (or remote) model has nothing to warm: 0 tokens, no error."""
    from agentstream.agents.invoke import warm_agent

    assert await warm_agent(agent([[{"text": "hi"}]]), Answer) == 0
