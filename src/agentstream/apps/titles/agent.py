"""The ``stream`` run: progress through four stages, titles streamed as text, history saved.

While the model reads its prompt, the engine's counts stream too (``Custom("progress",
{"stage": "prompt", …})``); the seed's dialect shows them inside the generating stage.

The conversation of each project lives in the store (one thread per user and project), so a
reconnecting tab, a second tab or a restarted server continues the same thread. The client's own
``chat_history`` is used only when the store has nothing for the project yet (a seed client that
kept history itself).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from agentstream.agents.invoke import AgentRun, agent_model
from agentstream.agents.threads import app_store, thread_id
from agentstream.apps.titles.prompts import SYSTEM_PROMPT, history_messages
from agentstream.apps.titles.schemas import History, StreamTitles
from agentstream.apps.titles.scripted import scripted_turns
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.protocol.events import Custom, Event, RunFinished, TextMessageChunk

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 20
"""Earlier messages shown to the model (and returned by ``history``)."""
MAX_TOKENS = 200

STAGES: dict[str, tuple[int, str]] = {
    "initializing": (10, "Initializing..."),
    "analyzing": (30, "Analyzing the conversation..."),
    "generating": (50, "Generating titles..."),
    "finalizing": (90, "Finalizing..."),
}


def progress(stage: str, step: str | None = None) -> Custom:
    """A ``progress`` event for ``stage`` (the seed's ``{step, progress}`` plus the stage)."""
    percent, label = STAGES[stage]
    return Custom(
        name="progress", value={"stage": stage, "step": step or label, "progress": percent}
    )


def project_thread(user: str, project_id: str) -> str:
    """The store thread of ``user``'s project."""
    return thread_id("titles", user, project_id)


def build_agent(model: Any, history: list[dict[str, Any]]) -> Any:
    """A title-generator agent on ``model`` that already holds ``history``."""
    from strands import Agent

    # Our history is plain JSON in Strands' message shape (``Messages`` is a TypedDict list).
    messages: Any = history
    return Agent(model=model, messages=messages, system_prompt=SYSTEM_PROMPT, callback_handler=None)


async def stream_titles(request: StreamTitles, ctx: RouteContext) -> AsyncIterator[Event]:
    """Stream one answer: progress, ``TextMessageChunk``s, ``finalizing``, then the full text."""
    yield progress("initializing")
    store = await app_store(ctx)
    thread = project_thread(ctx.user, request.projectId)
    earlier = await store.read_messages(thread, limit=HISTORY_LIMIT)
    if not earlier:
        earlier = [turn.model_dump() for turn in request.chat_history[-HISTORY_LIMIT:]]
    yield progress("analyzing", f"Analyzing the conversation ({len(earlier)} earlier messages)...")
    run_id = ctx.run.id if ctx.run else "msg"
    model = agent_model(ctx, scripted=scripted_turns, max_tokens=MAX_TOKENS)
    agent = build_agent(model, history_messages(earlier))
    run = AgentRun(ctx, agent, request.userInput, keep_truncated=True)
    yield progress("generating")
    # The titles dialect reads the project (the seed's ``sessionId``) from the message id.
    message_id = f"{request.projectId}/{run_id}"
    pieces: list[str] = []
    # The engine's prompt-reading counts pass through: the titles dialect shows them as
    # progress within the generating stage, so the seed's client keeps its four stages.
    async for event in run.events():
        if isinstance(event, TextMessageChunk):
            pieces.append(event.delta)
            event = dataclasses.replace(event, message_id=message_id)
        yield event
    full = "".join(pieces).strip()
    yield progress("finalizing")
    await store.append_message(
        thread, {"role": "user", "content": request.userInput, "ts": time.time()}
    )
    await store.append_message(
        thread, {"role": "assistant", "content": full, "ts": time.time(), "runId": run_id}
    )
    logger.info("run=%s chars=%d | titles generated", run_id, len(full))
    yield RunFinished(
        result={"fullContent": full, "sessionId": request.projectId, "truncated": run.truncated}
    )


async def history(request: History, ctx: ReplyContext) -> dict[str, Any]:
    """The project's stored conversation: ``{projectId, messages: [{role, content, ts}]}``."""
    store = await app_store(ctx)
    messages = await store.read_messages(
        project_thread(ctx.user, request.projectId), limit=HISTORY_LIMIT * 5
    )
    return {"projectId": request.projectId, "messages": messages}
