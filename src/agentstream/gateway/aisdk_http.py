"""``POST /api/chat``: what the Vercel AI SDK's ``useChat`` (default transport) POSTs and reads.

The body is the SDK's ``{"id", "messages": [{"role", "parts": [{"type": "text", "text"}]}],
"trigger", "messageId", ...body}``; the app's :class:`~agentstream.gateway.routes.ChatInput` maps
the last user message to its own request (CalledIt: the prediction), the chat ``id`` to its
thread field, and the extra ``body`` values (``timezone``) to the rest. A bad body is 400/422
JSON before any stream, which the SDK surfaces as the chat's error.

The answer is the run as the SDK's UI message stream
(:mod:`agentstream.protocol.dialects.aisdk`), ending ``data: [DONE]``.

Cancel: ``useChat``'s ``stop()`` aborts the fetch, and that is the only stop signal the SDK
sends, so here a client that goes away mid-run **cancels** the run (unlike the WebSocket and
``/api/agui``, where a drop detaches it for the grace period). The ``start`` part's
``messageMetadata.runId`` also works with ``POST /api/runs/{runId}/cancel``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from agentstream.errors import AgentstreamError
from agentstream.gateway.agui_http import SSE_HEADERS, refused
from agentstream.gateway.chat import Conversation, Turn, chat_command
from agentstream.gateway.credentials import user_of
from agentstream.gateway.http import KEEPALIVE_S, dispatcher_of
from agentstream.gateway.messages import (
    InvalidRequest,
    json_object,
    validation_message,
)
from agentstream.gateway.metrics import Metrics
from agentstream.protocol.codec import dumps
from agentstream.protocol.dialects.aisdk import DONE, HEADER, VERSION, UIMessageStream
from agentstream.protocol.events import Event, is_terminal
from agentstream.runs.run import Run

logger = logging.getLogger(__name__)

# The SDK's own fields; everything else in the body is the app's (``body`` in useChat options).
_SDK_FIELDS = frozenset({"id", "messages", "trigger", "messageId"})


class UIMessage(BaseModel):
    """One message of the SDK's conversation; only text parts are read."""

    model_config = ConfigDict(extra="ignore")

    id: str = ""
    role: Literal["system", "user", "assistant"]
    parts: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)

    @property
    def text(self) -> str:
        """The message's text parts, joined."""
        texts = (p.get("text") for p in self.parts if p.get("type") == "text")
        return "".join(t for t in texts if isinstance(t, str))


class ChatRequest(BaseModel):
    """The SDK's request body (``DefaultChatTransport``)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, max_length=200)
    messages: list[UIMessage] = Field(min_length=1, max_length=500)


def parse_chat(raw: bytes) -> Conversation:
    """The conversation in an SDK request body.

    Raises:
        InvalidJson: not JSON.
        BadMessage: not an object, or nested too deep.
        InvalidRequest: not the SDK's shape (each field named).
    """
    body = json_object(raw, "the body must be the AI SDK's chat request object")
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest(validation_message(exc)) from None
    extra = {k: v for k, v in body.items() if k not in _SDK_FIELDS}
    turns = [Turn(m.role, m.text) for m in request.messages]
    return Conversation(turns, thread_id=request.id, extra=extra)


class _Sink:
    """A run subscriber feeding one response."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def deliver(self, event: Event) -> None:
        self.queue.put_nowait(event)


def _sse(part: Any) -> str:
    return f"data: {dumps(part)}\n\n"


async def ui_message_stream(run: Run, metrics: Metrics | None = None) -> AsyncIterator[str]:
    """``run`` from its start as UI message stream SSE; leaving early cancels the run."""
    encoder = UIMessageStream()
    sink = _Sink()
    run.subscribe(sink, after_seq=0)
    try:
        while not encoder.ended:
            try:
                event = await asyncio.wait_for(sink.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            parts = encoder.feed(event)
            for part in parts:
                yield _sse(part)
            if metrics is not None and parts:
                metrics.sent("aisdk", len(parts))
            if is_terminal(event):
                break
        yield f"data: {DONE}\n\n"
    finally:
        run.unsubscribe(sink)
        # The SDK's stop() is an aborted fetch: nobody is left to resume this run.
        if run.cancel("The AI SDK client stopped reading"):
            logger.info("run=%s | AI SDK client went away; cancelled", run.id)


async def chat(request: Request) -> Response:
    """``POST /api/chat``: an AI SDK chat request in, the run as a UI message stream out."""
    dispatcher = dispatcher_of(request)
    try:
        talk = parse_chat(await request.body())
        command = chat_command(
            dispatcher.app, talk, max_bytes=dispatcher.settings.max_message_bytes
        )
        run = dispatcher.launch(command, user_of(request), "aisdk")
    except AgentstreamError as exc:
        return refused(exc)
    headers = {**SSE_HEADERS, HEADER: VERSION, "X-Agentstream-Run-Id": run.id}
    return StreamingResponse(
        ui_message_stream(run, dispatcher.metrics), media_type="text/event-stream", headers=headers
    )
