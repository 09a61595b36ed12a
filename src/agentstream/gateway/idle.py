"""The idle timeout of one socket: one timer per socket, not one per message.

A socket that sends nothing for ``idle_s`` seconds and streams no run is closed (API Gateway's
idle timeout). ``asyncio.timeout`` around each receive made, and then cancelled, a timer and a
context object for every message: at a thousand short streams that was a few per cent of the
server's CPU (``bench/streams.py``). :class:`IdleWatch` keeps one timer that is re-armed only
when it fires early; a message costs one clock read.

The receive it guards is cancelled, as ``asyncio.timeout`` would, only when the socket has
really been idle: while a run streams to it (``busy()``), it is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class IdleWatch:
    """Times out the current task's receives that wait ``idle_s`` seconds with nothing to do."""

    __slots__ = ("_busy", "_fired", "_handle", "_idle_s", "_loop", "_since", "_task")

    def __init__(self, idle_s: float, busy: Callable[[], bool]) -> None:
        """Watch the current task's receives; ``busy()`` True means a quiet socket is not idle."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._idle_s = idle_s
        self._busy = busy
        self._since: float | None = None  # when the pending receive began (None: none pending)
        self._fired = False
        self._handle = self._loop.call_at(self._loop.time() + idle_s, self._check)

    async def receive(self, receive: Awaitable[T]) -> T:
        """Await ``receive``; raises TimeoutError if it waited ``idle_s`` on an idle socket."""
        self._since = self._loop.time()
        try:
            return await receive
        except asyncio.CancelledError:
            # Ours, and nobody else's meanwhile: the receive timed out.
            if self._fired and self._task is not None and self._task.uncancel() == 0:
                self._fired = False
                raise TimeoutError from None
            raise
        finally:
            self._since = None

    def close(self) -> None:
        """Stop watching (the socket is done)."""
        self._handle.cancel()

    def _check(self) -> None:
        now = self._loop.time()
        since = self._since
        if since is None or self._busy():
            # Handling a message, or streaming a run: not idle; look again a whole period on.
            self._handle = self._loop.call_at(now + self._idle_s, self._check)
            return
        due = since + self._idle_s
        if now < due:  # a message came meanwhile: this receive began later
            self._handle = self._loop.call_at(due, self._check)
            return
        if self._task is not None and not self._task.done():
            self._fired = True
            self._task.cancel()
