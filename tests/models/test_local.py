"""LocalModel on the real Gemma 3 270M weights: streaming, tools, structured output, cancel.

Gemma 270M is a base model, so these tests check behaviour (events, schemas), never the content
of answers, and never wall-clock time (the machine is shared): a cancel is judged by how many
chunks the engine produced after it. All instances share one engine, loaded once per test
process.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from pydantic import BaseModel, Field
from strands import Agent, tool

from agentstream.models.local import LocalModel
from tests.models.conftest import collect, deltas, gemma, slow, user, wait_idle


class Sum(BaseModel):
    """The result of a sum."""

    expression: str = Field(description="the expression, like 2 + 3")
    result: int


@slow
async def test_text_streams_in_several_deltas() -> None:
    """A plain reply arrives as several text deltas, framed by messageStart/Stop and metadata."""
    events = await collect(gemma(24), user("Hello!"))
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert len(deltas(events, "text")) >= 3
    assert "messageStop" in events[-2]
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


@slow
async def test_agent_runs_a_tool_with_schema_valid_input() -> None:
    """A Strands agent gets a toolUse whose input fits the tool's schema, and the tool runs."""
    calls: list[dict[str, int]] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append({"a": a, "b": b})
        return a + b

    model = gemma()
    model.update_config(max_tool_calls=1)  # one call, then the loop guard makes it answer
    agent = Agent(model=model, tools=[add], callback_handler=None)
    await agent.invoke_async("What is 2 plus 3? Use the add tool.")
    uses = [b["toolUse"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    assert [use["name"] for use in uses] == ["add"]
    jsonschema.validate(uses[0]["input"], add.tool_spec["inputSchema"]["json"])
    assert calls == [uses[0]["input"]]


@slow
async def test_structured_output_is_a_valid_pydantic_object() -> None:
    """An agent asked for structured output ends with a validated pydantic object."""
    agent = Agent(model=gemma(), callback_handler=None)
    result = None
    async for event in agent.stream_async("2 plus 3", structured_output_model=Sum):
        result = event.get("result", result)
    assert result is not None
    assert isinstance(result.structured_output, Sum)


@slow
async def test_forced_tool_choice_streams_the_input_as_tool_deltas() -> None:
    """With tool_choice naming a tool, the output is exactly that tool's input, streamed."""
    spec = {
        "name": "Sum",
        "description": "A sum.",
        "inputSchema": {"json": Sum.model_json_schema()},
    }
    events = await collect(gemma(), user("2 plus 3"), [spec], tool_choice={"tool": {"name": "Sum"}})
    pieces = [d["input"] for d in deltas(events, "toolUse")]
    assert len(pieces) > 3
    Sum.model_validate_json("".join(pieces))
    assert events[-2] == {"messageStop": {"stopReason": "tool_use"}}


@slow
async def test_deprecated_structured_output_yields_the_object() -> None:
    """Model.structured_output (the deprecated Strands path) ends with a validated object."""
    events = [event async for event in gemma().structured_output(Sum, user("2 plus 3"))]
    assert isinstance(events[-1]["output"], Sum)


@slow
async def test_agent_cancel_stops_at_the_next_token_and_engine_goes_idle() -> None:
    """agent.cancel() mid-stream: no text after it, at most one more engine chunk, engine idle."""
    model = gemma(400)
    agent = Agent(model=model, callback_handler=None)
    seen, after_cancel, chunks_at_cancel, result = 0, 0, -1, None
    async for event in agent.stream_async("Tell me a long story about a dragon."):
        if "data" in event:
            seen += 1
            after_cancel += 1 if chunks_at_cancel >= 0 else 0
            if seen == 5:
                chunks_at_cancel = model.engine.totals.chunks
                agent.cancel()
        result = event.get("result", result)
    assert await wait_idle(model)
    assert model.engine.totals.chunks - chunks_at_cancel <= 2  # the token in flight, at most
    assert after_cancel == 0
    assert result is not None and result.stop_reason == "cancelled"


SPECS: list[Any] = [
    {
        "name": name,
        "description": f"The {name} tool.",
        "inputSchema": {"json": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    for name in ("first", "second", "Record")
]


def planned(plan: list[dict[str, Any]]) -> LocalModel:
    model = LocalModel("gemma")
    model.update_config(tool_plan=plan)
    return model


async def test_a_planned_call_with_input_is_emitted_without_the_engine() -> None:
    """A plan item with input becomes that tool call at once; no model is loaded or run."""
    model = planned([{"name": "first", "input": {"x": "1"}}, {"name": "Record"}])
    chunks_before = model.engine.totals.chunks
    events = await collect(model, user("go"), SPECS)
    starts = [
        e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e
    ]
    assert [s["name"] for s in starts] == ["first"]
    assert json.loads("".join(d["input"] for d in deltas(events, "toolUse"))) == {"x": "1"}
    assert {"messageStop": {"stopReason": "tool_use"}} in events
    assert not model.busy and model.engine.totals.chunks == chunks_before  # engine unused


def test_plan_moves_to_the_next_item_once_a_tool_was_called_in_this_turn() -> None:
    """After 'first' ran in this turn, the next step may call only 'Record', with a message."""
    model = planned([{"name": "first", "input": {"x": "1"}}, {"name": "Record"}])
    messages: list[Any] = [
        *user("go"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "first"}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": []}}]},
    ]
    call = model._plan(messages, SPECS, "system", None)
    choices = call.schema["properties"]["tool_call"]["anyOf"] if call.schema else []
    assert call.kind == "step"
    assert [c["properties"]["name"]["const"] for c in choices] == ["Record"]  # no null: required
    assert call.schema is not None and "maxLength" in call.schema["properties"]["message"]


def test_a_new_user_turn_starts_the_plan_again() -> None:
    """Calls from an earlier turn do not count: a new question plans 'first' again."""
    model = planned([{"name": "first", "input": {"x": "1"}}])
    messages: list[Any] = [
        *user("go"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "first"}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": []}}]},
        {"role": "assistant", "content": [{"text": "done"}]},
        *user("again"),
    ]
    assert model._plan(messages, SPECS, "system", None).kind == "planned"


def test_without_a_plan_a_step_may_answer_or_call_any_tool() -> None:
    """No plan: the usual step, every tool offered and null (an answer) allowed."""
    call = LocalModel("gemma")._plan(user("go"), SPECS, "system", None)
    choices = call.schema["properties"]["tool_call"]["anyOf"] if call.schema else []
    assert len(choices) == 4 and choices[-1] == {"type": "null"}


def test_engine_prompt_progress_becomes_a_prompt_progress_chunk() -> None:
    """llama.cpp's prompt_progress (processed/total/cache) is passed on with the same counts."""
    model = LocalModel("gemma")
    call = model._plan(user("go"), [], "system", None)
    chunk = {"choices": [], "prompt_progress": {"total": 956, "cache": 730, "processed": 858}}
    assert model._decode(call, chunk) == [
        {"promptProgress": {"processed": 858, "total": 956, "cached": 730}}
    ]


async def test_warm_is_a_no_op_for_a_template_without_a_system_turn() -> None:
    """Gemma folds the system text into the first user turn: no separate prefix to cache."""
    model = LocalModel("gemma")
    chunks_before = model.engine.totals.chunks
    assert await model.warm("system", SPECS) == 0
    assert model.engine.totals.chunks == chunks_before
