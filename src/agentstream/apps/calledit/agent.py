"""The ``makecall`` run: a Strands agent with date tools produces a prediction record.

The model proposes the record; code makes the date honest. When the call names a relative date,
``verification_date`` is what ``parse_relative_date`` resolves it to (small models get month ends
wrong), and it is never before today in the user's timezone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

from agentstream import clock
from agentstream.agents.dates import resolve_relative_date
from agentstream.agents.runner import AgentStream
from agentstream.apps.calledit.prompts import SYSTEM_PROMPT, user_prompt
from agentstream.apps.calledit.schemas import MakeCall, PredictionRecord
from agentstream.apps.calledit.scripted import scripted_turns
from agentstream.gateway.context import RouteContext
from agentstream.protocol.events import Custom, Event, RunFinished

logger = logging.getLogger(__name__)


class NoRecord(RuntimeError):
    """The agent stopped without producing a record."""

    code = "no_record"


def settle_date(record: PredictionRecord, prediction: str, now: dt.datetime) -> PredictionRecord:
    """The record with its verification date made deterministic and never in the past."""
    today = now.date()
    resolved = resolve_relative_date(prediction, now)
    if resolved is not None:
        date = resolved.date
    else:
        date = max(dt.date.fromisoformat(record.verification_date), today)
    return record.model_copy(update={"verification_date": date.isoformat()})


def build_agent(model: Any) -> Any:
    """A CalledIt agent on ``model``."""
    from strands import Agent

    from agentstream.agents.tools import current_time, parse_relative_date

    return Agent(
        model=model,
        tools=[current_time, parse_relative_date],
        system_prompt=SYSTEM_PROMPT,
        callback_handler=None,
    )


async def make_call(request: MakeCall, ctx: RouteContext) -> AsyncIterator[Event]:
    """Stream one call: tool use and text, then the record."""
    now = clock.now(request.timezone)
    model = ctx.model(scripted=lambda: scripted_turns(request))
    stream = AgentStream(
        build_agent(model),
        user_prompt(request.prompt, request.timezone, now),
        structured_output_model=PredictionRecord,
        cancel_signal=ctx.cancel_signal,
        message_prefix=ctx.run.id if ctx.run else "msg",
    )
    async for event in stream.events():
        yield event
    if ctx.cancel_signal is not None and ctx.cancel_signal.is_set():
        return
    if not isinstance(stream.structured_output, PredictionRecord):
        raise NoRecord(f"the agent stopped ({stream.stop_reason or 'unknown'}) without a record")
    yield Custom(name="status", value="complete")
    record = settle_date(stream.structured_output, request.prompt, now)
    yield RunFinished(result=record.model_dump(mode="json"))
