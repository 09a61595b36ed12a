"""The ``makecall`` run: a Strands agent with date tools produces a prediction record.

The model proposes the record; code makes the date honest. When the call names a relative date,
``verification_date`` is what ``parse_relative_date`` resolves it to (small models get month ends
wrong), it is never before today in the user's timezone, and the statement names no other date.

Tools always run and show: on the local model the tool plan makes ``current_time`` (and
``parse_relative_date`` when the call names a date) required first steps with the arguments
known here, then a step whose only call is the record, so its reasoning message streams first
and the record fills in (as state) while it is generated. Other models follow the prompt.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from agentstream import clock
from agentstream.agents.dates import resolve_relative_date
from agentstream.agents.invoke import AgentRun, agent_model, warm_agent
from agentstream.apps.calledit.prompts import (
    SYSTEM_PROMPT,
    leaked_terms,
    retry_prompt,
    system_prompt,
    user_prompt,
)
from agentstream.apps.calledit.schemas import MakeCall, PredictionRecord
from agentstream.apps.calledit.scripted import scripted_turns
from agentstream.errors import AppError
from agentstream.gateway.context import RouteContext
from agentstream.protocol.events import Custom, Event, RunFinished

logger = logging.getLogger(__name__)

MAX_TOKENS = 640
"""The record step: a few sentences of reasoning plus the record (~250 tokens), with room."""
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


class NoRecord(AppError):
    """The agent stopped without producing a record."""

    code: ClassVar[str] = "no_record"


def settle_date(record: PredictionRecord, prediction: str, now: dt.datetime) -> PredictionRecord:
    """The record with its verification date made deterministic and never in the past.

    An ISO date in the statement other than the verification date is replaced by it, so the
    statement never names another deadline.
    """
    today = now.date()
    resolved = resolve_relative_date(prediction, now)
    if resolved is not None:
        date = resolved.date
    else:
        date = max(dt.date.fromisoformat(record.verification_date), today)
    statement = _ISO_DATE.sub(date.isoformat(), record.prediction_statement)
    return record.model_copy(
        update={"verification_date": date.isoformat(), "prediction_statement": statement}
    )


def tool_plan(request: MakeCall, now: dt.datetime) -> list[dict[str, Any]]:
    """The local model's required steps: the date tools this call needs, then the record."""
    plan: list[dict[str, Any]] = [{"name": "current_time", "input": {"timezone": request.timezone}}]
    if resolve_relative_date(request.prompt, now) is not None:
        arguments = {"text": request.prompt, "timezone": request.timezone}
        plan.append({"name": "parse_relative_date", "input": arguments})
    plan.append({"name": PredictionRecord.__name__})
    return plan


def build_agent(model: Any, prompt: str = SYSTEM_PROMPT, messages: list[Any] | None = None) -> Any:
    """A CalledIt agent on ``model`` (with ``prompt``, and a conversation so far if given)."""
    from strands import Agent

    from agentstream.agents.tools import current_time, parse_relative_date

    return Agent(
        model=model,
        tools=[current_time, parse_relative_date],
        system_prompt=prompt,
        messages=messages,
        callback_handler=None,
    )


def before_record(messages: list[Any]) -> list[Any]:
    """The conversation up to the model's record step (tool calls and results kept)."""
    for index, message in enumerate(messages):
        names = [b["toolUse"]["name"] for b in message.get("content", []) if "toolUse" in b]
        if message.get("role") == "assistant" and PredictionRecord.__name__ in names:
            return copy.deepcopy(messages[:index])
    return copy.deepcopy(messages)


async def warm(model: Any) -> int:
    """Read CalledIt's fixed prompt prefix into ``model``'s cache (a server does it at start)."""
    return await warm_agent(build_agent(model), PredictionRecord)


async def make_call(request: MakeCall, ctx: RouteContext) -> AsyncIterator[Event]:
    """Stream one call: tool use, reasoning and the partial record, then the record.

    A record that borrows the prompt examples' names (AEMET, Arsenal…) for a call that does not
    name them is asked for once more, without that example; the page shows the card redrawn.
    """
    now = clock.now(request.timezone)
    model = agent_model(
        ctx,
        scripted=lambda: scripted_turns(request),
        max_tokens=MAX_TOKENS,
        tool_plan=tool_plan(request, now),
    )
    agent = build_agent(model)
    run = AgentRun(
        ctx, agent, user_prompt(request.prompt, request.timezone), output_model=PredictionRecord
    )
    async for event in run.events():
        yield event
    record = _record_of(run)
    leaked = leaked_terms(record.model_dump_json(), request.prompt)
    if leaked:
        logger.info("run=%s | record copied %s from the examples; asking again", ctx.run.id, leaked)
        yield Custom(name="status", value="retrying")
        if "tool_plan" in (model.get_config() or {}):
            model.update_config(tool_plan=[{"name": PredictionRecord.__name__}])
        # A fresh agent without the copied example: in the same conversation the model only
        # wrote the same record again (Qwen 1.5B, greedy decoding).
        again = build_agent(model, system_prompt(tuple(leaked)), before_record(agent.messages))
        run = AgentRun(ctx, again, retry_prompt(request.prompt), output_model=PredictionRecord)
        async for event in run.events():
            yield event
        record = _record_of(run)
    yield Custom(name="status", value="complete")
    settled = settle_date(record, request.prompt, now).model_dump(mode="json")
    for event in run.settle(settled):
        yield event
    yield RunFinished(result=settled)


def _record_of(run: AgentRun) -> PredictionRecord:
    """The run's record.

    Raises:
        NoRecord: the agent stopped without one.
    """
    if not isinstance(run.structured_output, PredictionRecord):
        raise NoRecord(f"the agent stopped ({run.stop_reason or 'unknown'}) without a record")
    return run.structured_output
