"""The ``chat`` run: one model answer becomes chat text and a validated strategy, as it streams.

The conversation lives in the store (one thread per user and ``conversationId``), so the model
sees earlier turns and a bad answer falls back to the last strategy that validated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from agentstream.agents.invoke import AgentRun, agent_model
from agentstream.agents.threads import app_store, thread_id
from agentstream.apps.strategy.prompts import SYSTEM_PROMPT, history_messages
from agentstream.apps.strategy.schemas import StrategyChat, StrategyHistory
from agentstream.apps.strategy.scripted import scripted_turns
from agentstream.apps.strategy.stream import StrategyStream
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk

logger = logging.getLogger(__name__)

HISTORY_TURNS = 6
"""Earlier turns shown to the model (each carries a whole strategy JSON; small contexts fill)."""
STORED_TURNS = 40
"""Turns searched for the last good strategy."""
MAX_TOKENS = 700


def last_strategy(turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest strategy that validated, from stored turns."""
    for turn in reversed(turns):
        strategy = turn.get("strategy_json")
        if turn.get("role") == "assistant" and isinstance(strategy, dict):
            return strategy
    return None


def build_agent(model: Any, history: list[dict[str, Any]]) -> Any:
    """A strategy-builder agent on ``model`` that already holds ``history``."""
    from strands import Agent

    # Our history is plain JSON in Strands' message shape (``Messages`` is a TypedDict list).
    messages: Any = history
    return Agent(model=model, messages=messages, system_prompt=SYSTEM_PROMPT, callback_handler=None)


async def answer_events(run: AgentRun, answer: StrategyStream) -> AsyncIterator[Event]:
    """The answer's events; the model is stopped once both blocks are closed.

    What a model writes after ``</backend>`` cannot matter (small models ramble on to their
    token limit), and a reply cut at the token limit is parsed as far as it got.
    """
    async for event in run.events():
        if not isinstance(event, TextMessageChunk):
            yield event
            continue
        for out in answer.feed(event.delta):
            yield out
        if answer.parser.complete:
            run.stop()


async def chat(request: StrategyChat, ctx: RouteContext) -> AsyncIterator[Event]:
    """Stream one answer: ``TextMessageChunk``s, ``StateDelta``s, a snapshot, then the result."""
    store = await app_store(ctx)
    thread = thread_id("strategy", ctx.user, request.conversationId)
    stored = await store.read_messages(thread, limit=STORED_TURNS)
    last_good = last_strategy(stored)
    earlier = [t.model_dump() for t in request.history] if request.history is not None else stored
    model = agent_model(ctx, scripted=lambda: scripted_turns(last_good), max_tokens=MAX_TOKENS)
    run_id = ctx.run.id if ctx.run else "msg"
    agent = build_agent(model, history_messages(earlier[-HISTORY_TURNS:]))
    run = AgentRun(ctx, agent, request.message, keep_truncated=True)
    answer = StrategyStream(last_good, message_id=f"{run_id}-answer")
    async for event in answer_events(run, answer):
        yield event
    for out in answer.finish():
        yield out
    await store.append_message(thread, {"role": "user", "content": request.message})
    await store.append_message(
        thread,
        {"role": "assistant", "content": answer.user_message, "strategy_json": answer.strategy},
    )
    logger.info("run=%s valid=%s | strategy answer parsed", run_id, answer.strategy is not None)
    yield RunFinished(result=answer.result())


async def history(request: StrategyHistory, ctx: ReplyContext) -> dict[str, Any]:
    """The stored chat (``[{role, content}]``) and the strategy that holds now."""
    store = await app_store(ctx)
    stored = await store.read_messages(
        thread_id("strategy", ctx.user, request.conversationId), limit=STORED_TURNS
    )
    return {
        "conversationId": request.conversationId,
        "messages": [{"role": t.get("role"), "content": t.get("content", "")} for t in stored],
        "strategy_json": last_strategy(stored),
    }
