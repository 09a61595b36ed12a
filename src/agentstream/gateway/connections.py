"""A client's WebSocket as the gateway sees it: id, user, dialect and a bounded outbox.

Runs deliver events synchronously; the connection keeps them in an outbox that a writer task
renders and sends. Don't await the socket in ``deliver``: one slow tab must not stall the model or
the other clients. Text deltas waiting in the outbox merge (coalescing): always within the
configured window, and whenever a client falls behind, so a slow reader gets fewer, larger frames.
A client whose outbox still fills up is closed with 1013 ("try again later").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from collections import deque
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agentstream.protocol.codec import dumps
from agentstream.protocol.dialects import Dialect
from agentstream.protocol.events import Event, TextMessageChunk
from agentstream.runs.coalesce import merge

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN = 1013


def new_connection_id() -> str:
    """An id shaped like API Gateway's (12 random bytes, base64)."""
    return base64.b64encode(os.urandom(12)).decode()


class Connection:
    """One open WebSocket."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        user: str,
        dialect: Dialect,
        queue_size: int,
        coalesce_s: float = 0.0,
    ) -> None:
        """Wrap an accepted socket; ``coalesce_s`` is the text-merging window (0: none)."""
        self.id = new_connection_id()
        self.websocket = websocket
        self.user = user
        self.dialect = dialect
        self.runs: set[str] = set()
        self.coalesce_s = coalesce_s
        self.frames_sent = 0
        self._outbox: deque[Event | str] = deque()
        self._limit = queue_size
        # Past this backlog, text merges even with no window: the client is falling behind.
        # (Half the limit, so the burst of a replay alone does not count as falling behind.)
        self._behind = max(8, queue_size // 2)
        self._wake = asyncio.Event()
        self._urgent = False
        self._close: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        """Start the writer task."""
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer:{self.id}")

    # -- queueing (synchronous, never blocks) -----------------------------------------------------

    def deliver(self, event: Event) -> None:
        """Queue one run event."""
        if self.closed:
            return
        if self._outbox and (self.coalesce_s > 0 or len(self._outbox) >= self._behind):
            merged = merge(self._outbox[-1], event)
            if merged is not None:
                self._outbox[-1] = merged
                return
        self._push(event, urgent=not isinstance(event, TextMessageChunk))

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a control frame (an answer that belongs to no run's sequence)."""
        if not self.closed:
            self._push(dumps(frame), urgent=True)

    def error(self, message: str, code: str, **extra: Any) -> None:
        """Queue an error frame in this connection's dialect."""
        self.send(self.dialect.render_error(message, code, **extra))

    def _push(self, item: Event | str, *, urgent: bool) -> None:
        if len(self._outbox) >= self._limit:
            logger.warning("conn=%s | outbox full (%d); closing slow client", self.id, self._limit)
            self._outbox.clear()
            self.close(CLOSE_TRY_AGAIN, "client too slow: send queue full")
            return
        self._outbox.append(item)
        self._urgent = self._urgent or urgent
        self._wake.set()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after what is already queued."""
        if self.closed:
            return
        self.closed = True
        self._close = (code, reason)
        self._urgent = True
        self._wake.set()

    # -- writing -------------------------------------------------------------------------------

    async def _write(self) -> None:
        try:
            while True:
                await self._wake.wait()
                if self.coalesce_s > 0 and not self._urgent:
                    # Let more text arrive and merge; any other event ends the wait at once.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._until_urgent(), self.coalesce_s)
                self._wake.clear()
                self._urgent = False
                await self._drain()
                if self._close is not None and not self._outbox:
                    await self.websocket.close(code=self._close[0], reason=self._close[1])
                    return
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            logger.debug("conn=%s | writer stopped: %s", self.id, exc)
            self.closed = True

    async def _until_urgent(self) -> None:
        while not self._urgent:
            self._wake.clear()
            await self._wake.wait()

    async def _drain(self) -> None:
        while self._outbox:
            item = self._outbox.popleft()
            text = item if isinstance(item, str) else dumps(self.dialect.render(item))
            await self.websocket.send_text(text)
            self.frames_sent += 1

    async def stop(self) -> None:
        """Stop the writer (the socket is gone)."""
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    @property
    def backlog(self) -> int:
        """Frames waiting to be sent."""
        return len(self._outbox)

    @property
    def is_open(self) -> bool:
        """Whether frames can still be sent."""
        return not self.closed and self.websocket.client_state is WebSocketState.CONNECTED
