"""The ``chat`` run: one model answer becomes chat text and a validated strategy, as it streams.

The conversation lives in the store (one thread per user and ``conversationId``), so the model
sees earlier turns and a bad answer falls back to the last strategy that validated.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from agentstream.agents.runner import AgentStream
from agentstream.agents.threads import app_store, thread_id
from agentstream.apps.strategy.prompts import SYSTEM_PROMPT, history_messages
from agentstream.apps.strategy.schemas import StrategyChat, StrategyHistory
from agentstream.apps.strategy.scripted import scripted_turns
from agentstream.apps.strategy.stream import StrategyStream
from agentstream.gateway.context import RouteContext
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

    if "max_tokens" in (model.get_config() or {}):
        model.update_config(max_tokens=MAX_TOKENS)
    # Our history is plain JSON in Strands' message shape (``Messages`` is a TypedDict list).
    messages: Any = history
    return Agent(model=model, messages=messages, system_prompt=SYSTEM_PROMPT, callback_handler=None)


async def _follow(run_cancel: threading.Event | None, stop: threading.Event) -> None:
    """Set ``stop`` (the model's signal) as soon as the run is cancelled."""
    while not stop.is_set():
        if run_cancel is not None and run_cancel.is_set():
            stop.set()
            return
        await asyncio.sleep(0.05)


async def answer_events(
    stream: AgentStream, answer: StrategyStream, stop: threading.Event, ctx: RouteContext
) -> AsyncIterator[Event]:
    """The answer's events; the model is stopped once both blocks are closed.

    What a model writes after ``</backend>`` cannot matter (small models ramble on to their
    token limit), and a reply cut at the token limit is parsed as far as it got.
    """
    from strands.types.exceptions import MaxTokensReachedException

    watcher = asyncio.create_task(_follow(ctx.cancel_signal, stop))
    try:
        async for event in stream.events():
            if not isinstance(event, TextMessageChunk):
                yield event
                continue
            for out in answer.feed(event.delta):
                yield out
            if answer.parser.complete:
                stop.set()
    except MaxTokensReachedException:
        logger.info("answer cut at the token limit; parsing what arrived")
    finally:
        stop.set()
        watcher.cancel()


async def chat(request: StrategyChat, ctx: RouteContext) -> AsyncIterator[Event]:
    """Stream one answer: ``TextMessageChunk``s, ``StateDelta``s, a snapshot, then the result."""
    store = await app_store(ctx)
    thread = thread_id("strategy", ctx.user, request.conversationId)
    stored = await store.read_messages(thread, limit=STORED_TURNS)
    last_good = last_strategy(stored)
    earlier = [t.model_dump() for t in request.history] if request.history is not None else stored
    model = ctx.model(scripted=lambda: scripted_turns(last_good))
    run_id = ctx.run.id if ctx.run else "msg"
    stop = threading.Event()
    agent = build_agent(model, history_messages(earlier[-HISTORY_TURNS:]))
    stream = AgentStream(agent, request.message, cancel_signal=stop, message_prefix=run_id)
    answer = StrategyStream(last_good, message_id=f"{run_id}-answer")
    async for event in answer_events(stream, answer, stop, ctx):
        yield event
    if ctx.cancel_signal is not None and ctx.cancel_signal.is_set():
        return
    for out in answer.finish():
        yield out
    await store.append_message(thread, {"role": "user", "content": request.message})
    await store.append_message(
        thread,
        {"role": "assistant", "content": answer.user_message, "strategy_json": answer.strategy},
    )
    logger.info("run=%s valid=%s | strategy answer parsed", run_id, answer.strategy is not None)
    yield RunFinished(result=answer.result())


async def history(request: StrategyHistory, ctx: RouteContext) -> dict[str, Any]:
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
