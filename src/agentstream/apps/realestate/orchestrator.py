"""The ``invoke`` run: route a question to a specialist agent and stream its work.

Events, in order: a status naming the specialist, the document search and what it found, the
agent's text (``TextMessageChunk``) with a ``Custom("message")`` carrying each complete assistant
message, its tool calls and results, then ``RunFinished`` with the seed's result
``{success, content, agent, query_type, tools_available, tools_used}`` (plus ``sources`` and
``citations``).

The best passages are found before the model starts and put in its prompt, cut to the sentences
closest to the question; when they match the question the specialist gets no search tool, so its
answer streams from the first generated token. The passages the answer cites (by number, or by
quoting them) are appended as a ``Sources:`` line naming document and section.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from agentstream.agents.invoke import AgentRun, agent_model
from agentstream.apps.realestate import scripted
from agentstream.apps.realestate.citations import Citation, cited, sources_line
from agentstream.apps.realestate.documents import Hit, default_index
from agentstream.apps.realestate.knowledge_base import knowledge_base_id, retrieve
from agentstream.apps.realestate.prompts import user_prompt
from agentstream.apps.realestate.schemas import AnyMessage, Invoke
from agentstream.apps.realestate.specialists import Specialist, route
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.protocol.events import (
    Custom,
    Event,
    RunFinished,
    TextMessageChunk,
    ToolCallChunk,
)

logger = logging.getLogger(__name__)

PREFETCH = 2
MIN_SCORE = 0.3
"""Cosine similarity below which a passage is not about the question (off-topic ones score <0.2)."""
MAX_TOKENS = 240
MAX_TOOL_CALLS = 1


def status(message: str, **extra: Any) -> Custom:
    """A ``status`` line for the client."""
    return Custom(name="status", value={"message": message, **extra})


class Messages:
    """Collects streamed text into complete assistant messages."""

    def __init__(self) -> None:
        """No message yet."""
        self.current_id: str | None = None
        self.pieces: list[str] = []
        self.done: list[str] = []

    def add(self, chunk: TextMessageChunk) -> list[Event]:
        """Take a chunk; returns the previous message's event if this one starts a new one."""
        events = self.flush() if chunk.message_id != self.current_id else []
        self.current_id = chunk.message_id
        self.pieces.append(chunk.delta)
        return events

    def flush(self) -> list[Event]:
        """The current message as ``Custom("message")``, if it has text."""
        text = "".join(self.pieces).strip()
        self.current_id, self.pieces = None, []
        if not text:
            return []
        self.done.append(text)
        return [Custom(name="message", value={"role": "assistant", "content": text})]

    @property
    def answer(self) -> str:
        """The last complete message: the agent's answer after its tool calls."""
        return self.done[-1] if self.done else ""


async def _search(specialist: Specialist, question: str) -> list[Hit]:
    kb_id = knowledge_base_id()
    if kb_id is not None:  # the seed's deployment: a Bedrock Knowledge Base, not the shipped docs
        return await asyncio.to_thread(retrieve, kb_id, question, specialist.category, PREFETCH)
    index = await asyncio.to_thread(default_index)
    hits = await asyncio.to_thread(index.search, question, specialist.category, PREFETCH)
    relevant = [hit for hit in hits if hit.score >= MIN_SCORE]
    return await asyncio.to_thread(index.excerpts, question, relevant)


def _sources(messages: Messages, hits: list[Hit]) -> tuple[list[Event], list[Citation]]:
    """A ``Sources:`` chunk ending the current message, for the passages it cites."""
    citations = cited("".join(messages.pieces), hits) if messages.current_id else []
    line = sources_line(citations)
    if not line or messages.current_id is None:
        return [], citations
    chunk = TextMessageChunk(delta=f"\n\n{line}", message_id=messages.current_id)
    return [*messages.add(chunk), chunk], citations


def _build(
    specialist: Specialist, ctx: RouteContext, question: str, search: bool
) -> tuple[Any, int]:
    model = agent_model(
        ctx,
        scripted=lambda: scripted.scripted_turns(specialist, question),
        max_tokens=MAX_TOKENS,
        # The best passages are already in the prompt: one more search is plenty.
        max_tool_calls=MAX_TOOL_CALLS,
    )
    agent = specialist.build(model, search=search)
    return agent, len(agent.tool_names)


async def invoke(request: Invoke, ctx: RouteContext) -> AsyncIterator[Event]:
    """Answer one question with the specialist its ``query_type`` names."""
    specialist = route(request.query_type)
    yield status(f"Routing your question to the {specialist.label}", agent=specialist.name)
    yield status("Searching the Cedar Bay documents...")
    hits = await _search(specialist, request.question)
    sources = [hit.to_dict() for hit in hits]
    found = f"{len(hits)} relevant passage{'' if len(hits) == 1 else 's'}"
    yield status(f"Found {found}", sources=sources)
    agent, tools_available = _build(specialist, ctx, request.question, search=not hits)
    prompt = user_prompt(request.question, request.context, hits)
    run = AgentRun(ctx, agent, prompt, keep_truncated=True)
    messages, tools_used = Messages(), 0
    async for event in run.events():
        if isinstance(event, TextMessageChunk):
            for done in messages.add(event):
                yield done
        elif isinstance(event, ToolCallChunk):
            tools_used += 1
            for done in messages.flush():
                yield done
        yield event
    cite_events, citations = _sources(messages, hits)
    for event in cite_events:
        yield event
    for done in messages.flush():
        yield done
    yield RunFinished(
        result={
            "success": True,
            "content": messages.answer,
            "agent": specialist.name,
            "query_type": request.query_type,
            "tools_available": tools_available,
            "tools_used": tools_used,
            "sources": sources,
            "citations": [citation.to_dict() for citation in citations],
        }
    )


def usage() -> str:
    """How to ask (the ``$default`` answer)."""
    return (
        'Send {"action": "invoke", "question": "...", "context": "..." (optional), '
        '"query_type": "zoning" | "building_codes" | "general" (optional)}.'
    )


async def unknown_action(request: AnyMessage, ctx: ReplyContext) -> dict[str, Any]:
    """``$default``: an error frame in the seed's shape that says how to ask."""
    action = ctx.action
    what = f"Unknown action {action!r}." if action is not None else "Unknown or missing action."
    text = f"{what} {usage()}"
    return {
        "type": "error",
        "error": text,
        "message": text,
        "code": "unknown_action",
        "timestamp": time.time(),
    }
