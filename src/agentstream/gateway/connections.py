"""A client's WebSocket as the gateway sees it: id, user, dialect, and the task that writes.

Runs deliver events synchronously into the connection's :class:`~agentstream.gateway.outbox.Outbox`
(where merging and overflow rules live); a writer task renders and sends them. Don't await the
socket in ``deliver``: one slow tab must not stall the model or the other clients. A client whose
outbox fills up is closed with 1013 ("try again later").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agentstream.gateway.metrics import LATENCY_SAMPLE, Metrics
from agentstream.gateway.outbox import Outbox
from agentstream.protocol.control import Control, ErrorAnswer, RequestId
from agentstream.protocol.dialects import Dialect
from agentstream.protocol.events import Event
from agentstream.runs.run import Stepper

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN = 1013
# Frames one writer sends before it yields to the loop. ``send`` does not yield while the socket
# buffer has room, so a replay or a burst of thousands of frames would otherwise hold the loop
# and stall every other stream's first event.
WRITE_BATCH = 64


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
        merge_waiting: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        """Wrap an accepted socket.

        ``coalesce_s`` is the text-merging window (0: none); ``merge_waiting`` merges text that
        is still waiting for the writer (see :class:`~agentstream.gateway.outbox.Outbox`).
        """
        self.id = new_connection_id()
        self.connection_id = self.id
        self.websocket = websocket
        self.user = user
        self.dialect = dialect
        self.runs: set[str] = set()
        self.coalesce_s = coalesce_s
        self.frames_sent = 0
        self.metrics = metrics
        # Events published before this socket opened reach it only as a replay (a resume):
        # their delay is the client's absence, not the server's latency, so it is not observed.
        self.opened_at = time.time()
        self.outbox = Outbox(
            dialect, limit=queue_size, coalesce=coalesce_s > 0, merge_waiting=merge_waiting
        )
        # The writer task and its wake-up exist from the first frame that needs them: an idle
        # socket holds neither (memory per idle connection, bench/streams.py).
        self._wake: asyncio.Event | None = None
        self._started = False
        self._close: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        # Set while the writer task is sending, or a send that ``flush_now`` began is finishing
        # in a task of its own: no other send may start meanwhile (frames keep their order).
        self._busy = False
        self._inflight: asyncio.Future[None] | None = None
        self._kick_soon = False  # a look at the outbox is scheduled for the loop's next turn
        self.closed = False

    def start(self) -> None:
        """Let the writer run (its task starts with the first frame that needs it)."""
        self._started = True
        if len(self.outbox) or self._close is not None or self._inflight is not None:
            self._kick()

    def _kick(self) -> None:
        """Wake the writer, starting its task on first need."""
        if self._wake is None:
            if not self._started:
                return  # start() kicks it
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer:{self.id}")
        self._wake.set()

    # -- queueing (synchronous, never blocks) -----------------------------------------------------

    def deliver(self, event: Event) -> None:
        """Queue one run event."""
        if not self.closed:
            self._queued(self.outbox.add_event(event))

    def answer(self, control: Control) -> None:
        """Queue a control answer (one that belongs to no run's sequence)."""
        if not self.closed:
            self._queued(self.outbox.add_control(control))

    def error(self, message: str, code: str, request_id: RequestId = None) -> None:
        """Queue an error answer in this connection's dialect."""
        self.answer(ErrorAnswer(message=message, code=code, request_id=request_id))

    def _queued(self, accepted: bool) -> None:
        if not accepted:
            limit = self.outbox.limit
            logger.warning("conn=%s | outbox full (%d); closing slow client", self.id, limit)
            if self.metrics is not None and not self.closed:
                self.metrics.slow_client_closes.inc()
            self.close(CLOSE_TRY_AGAIN, "client too slow: send queue full")
            return
        # Wake the writer at the loop's next turn, and only if the frame is still waiting: a
        # run's task sends what it published before it waits (flush_now), so most frames are
        # gone by then, and waking the writer for each would be a task step per run step.
        if not self._kick_soon:
            self._kick_soon = True
            asyncio.get_running_loop().call_soon(self._kick_if_waiting)

    def _kick_if_waiting(self) -> None:
        self._kick_soon = False
        if len(self.outbox) and not self.closed:
            self._kick()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after what is already queued."""
        if self.closed:
            return
        self.closed = True
        self._close = (code, reason)
        self.outbox.urgent = True
        self._kick()

    async def close_now(self, code: int, reason: str = "", wait_s: float = 5.0) -> None:
        """Close after what is queued and wait (at most ``wait_s``) until the close is sent."""
        self.close(code, reason)
        if self._writer is not None:
            await asyncio.wait([self._writer], timeout=wait_s)

    # -- writing -------------------------------------------------------------------------------

    def flush_now(self) -> None:
        """Send what waits, here and now, if that needs no waiting (a run's step just ended).

        Called from a run's task as its producer is about to wait. Each send is stepped by hand:
        a socket that takes the bytes finishes at once. One that would wait (its buffer is full)
        is handed, as it stands, to a task that finishes it, and the writer task sends the rest
        after it: the run never waits for a socket. With a coalescing window, or while the writer
        is sending, frames are left to the writer.
        """
        if self._busy or self.closed or self.coalesce_s > 0 or not len(self.outbox):
            return
        sent = 0
        try:
            while len(self.outbox):
                if sent == WRITE_BATCH:  # a backlog (a replay) is the writer's: never hog the run
                    self._kick()
                    return
                step = self.websocket.send_text(self.outbox.take() or "")
                try:
                    waiting_for = step.send(None)
                except StopIteration:
                    sent += 1
                    self._observe(self.outbox.taken, sent)
                    continue
                sent += 1  # it waits for room: a task finishes it; the writer goes on after
                self._busy = True
                self._inflight = asyncio.ensure_future(_finish(step, waiting_for))
                self._kick()
                return
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            logger.debug("conn=%s | direct send failed: %s", self.id, exc)
            self.closed = True
            self._kick()
        finally:
            self.frames_sent += sent
            if self.metrics is not None and sent:
                self.metrics.sent(self.dialect.name, sent)

    def _observe(self, event: Event | None, sent: int) -> None:
        """Sample the latency of the frame just sent (every frame costs as much as a sample)."""
        metrics = self.metrics
        if metrics is not None and event is not None and event.ts >= self.opened_at:
            if event.seq == 1 or (self.frames_sent + sent) % LATENCY_SAMPLE == 0:
                metrics.written(event.seq, event.ts, time.time())

    async def _write(self) -> None:
        wake = self._wake
        assert wake is not None  # created with this task
        try:
            while True:
                await wake.wait()
                if self.coalesce_s > 0 and not self.outbox.urgent:
                    # Let more text arrive and merge; any other event ends the wait at once.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._until_urgent(wake), self.coalesce_s)
                wake.clear()
                self.outbox.urgent = False
                if self._inflight is not None:  # a send flush_now began comes first
                    inflight, self._inflight = self._inflight, None
                    await inflight
                self._busy = True
                try:
                    await self._drain()
                finally:
                    self._busy = False
                if self._close is not None and not len(self.outbox):
                    await self.websocket.close(code=self._close[0], reason=self._close[1])
                    return
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            logger.debug("conn=%s | writer stopped: %s", self.id, exc)
            self.closed = True

    async def _until_urgent(self, wake: asyncio.Event) -> None:
        while not self.outbox.urgent:
            wake.clear()
            await wake.wait()

    async def _drain(self) -> None:
        metrics = self.metrics
        sent = 0
        try:
            while (text := self.outbox.take()) is not None:
                event = self.outbox.taken
                await self.websocket.send_text(text)
                sent += 1
                self._observe(event, sent)
                if sent % WRITE_BATCH == 0:
                    await asyncio.sleep(0)
        finally:
            self.frames_sent += sent
            if metrics is not None and sent:
                metrics.sent(self.dialect.name, sent)

    async def stop(self) -> None:
        """Stop the writer (the socket is gone)."""
        self.closed = True
        if self._inflight is not None:
            self._inflight.cancel()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    @property
    def backlog(self) -> int:
        """Frames waiting to be sent."""
        return len(self.outbox)

    @property
    def is_open(self) -> bool:
        """Whether frames can still be sent."""
        return not self.closed and self.websocket.client_state is WebSocketState.CONNECTED


async def _finish(step: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    """Finish a send that ``flush_now`` stepped by hand and that now waits for ``waiting_for``."""
    try:
        await Stepper(step, pending=waiting_for)
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        logger.debug("send failed after waiting: %s", exc)
