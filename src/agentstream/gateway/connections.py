"""A client's WebSocket as the gateway sees it: id, user, dialect and a bounded send queue.

Runs deliver events synchronously; the connection renders them in its dialect and queues the text
for a writer task. Don't await the socket in ``deliver``: one slow tab must not stall the model or
the other clients. A client that lets its queue fill up is closed with 1013 ("try again later").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agentstream.protocol.codec import dumps
from agentstream.protocol.dialects import Dialect
from agentstream.protocol.events import Event

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN = 1013

_CLOSE = object()


def new_connection_id() -> str:
    """An id shaped like API Gateway's (12 random bytes, base64)."""
    return base64.b64encode(os.urandom(12)).decode()


class Connection:
    """One open WebSocket."""

    def __init__(self, websocket: WebSocket, *, user: str, dialect: Dialect, queue_size: int) -> None:
        """Wrap an accepted socket."""
        self.id = new_connection_id()
        self.websocket = websocket
        self.user = user
        self.dialect = dialect
        self.runs: set[str] = set()
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        """Start the writer task."""
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer:{self.id}")

    def deliver(self, event: Event) -> None:
        """Queue one run event, rendered in this connection's dialect."""
        self._put(dumps(self.dialect.render(event)))

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a control frame (an answer that belongs to no run's sequence)."""
        self._put(dumps(frame))

    def error(self, message: str, code: str, **extra: Any) -> None:
        """Queue an error frame in this connection's dialect."""
        self.send(self.dialect.render_error(message, code, **extra))

    def _put(self, text: str) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning("conn=%s | send queue full; closing slow client", self.id)
            self.close(CLOSE_TRY_AGAIN, "client too slow: send queue full")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after what is already queued (or at once when the queue is full)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(asyncio.QueueEmpty):
            if self._queue.full():
                self._queue.get_nowait()
        self._queue.put_nowait((_CLOSE, code, reason))

    async def _write(self) -> None:
        ws = self.websocket
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple) and item[0] is _CLOSE:
                    await ws.close(code=item[1], reason=item[2])
                    return
                await ws.send_text(item)  # type: ignore[arg-type]
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            logger.debug("conn=%s | writer stopped: %s", self.id, exc)
            self.closed = True

    async def stop(self) -> None:
        """Stop the writer (the socket is gone)."""
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    @property
    def is_open(self) -> bool:
        """Whether frames can still be sent."""
        return not self.closed and self.websocket.client_state is WebSocketState.CONNECTED
