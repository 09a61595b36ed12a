"""The asyncio driver around a :class:`~agentstream.runs.core.RunCore`.

A :class:`Run` feeds its core from a producer (an async iterator of unstamped events) in its own
task, turns the producer's failure or a cancel into the terminal event, stops a producer that
ignores a cancel after a grace period, and lets callers ``await run.wait()``. Every rule about
seq, replay, subscribers and state lives in the core; this module only owns the task and timers.

Each time the producer is about to wait (for the model's next token, or a yield to the loop),
subscribers that can write without waiting (``flush_now``, a WebSocket whose socket takes data)
write what this step queued, from the run's own task. A token therefore reaches the socket in
the step that made it, not one loop turn later behind every other stream's work, while the
tokens made within one step still merge into one frame. The producer never waits for a socket:
a connection whose socket is full leaves its frames to its writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator
from typing import Any, cast

from agentstream.errors import AgentstreamError
from agentstream.protocol.events import Event, RunError, RunFinished, RunStarted
from agentstream.runs.core import RunCore, Subscriber, new_run_id
from agentstream.runs.state import CANCELLED_CODE, RunState

logger = logging.getLogger(__name__)

Producer = Callable[["Run"], AsyncIterator[Event]]


class Run(RunCore):
    """A run driven by an asyncio task."""

    def __init__(
        self,
        *,
        owner: str,
        app: str = "",
        run_id: str | None = None,
        log_capacity: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a run owned by ``owner`` (arguments as :class:`RunCore`)."""
        super().__init__(
            owner=owner, app=app, run_id=run_id, log_capacity=log_capacity, clock=clock
        )
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _ended(self) -> None:
        self.done.set()

    def start(self, producer: Producer, *, input: object = None) -> asyncio.Task[None]:
        """Run ``producer`` in a task, publishing what it yields."""
        self.publish(RunStarted(input=input))
        self._flush_subscribers()  # the start goes out now, not after the task's first turn
        self._task = asyncio.create_task(self._drive(producer), name=f"run:{self.id}")
        return self._task

    async def _drive(self, producer: Producer) -> None:
        try:
            await Stepper(self._produce(producer), on_suspend=self._flush_subscribers)
        finally:
            # Its last events are out: let go of subscribers and watchers. The recorder's
            # watcher refers back to the run, and that cycle kept every finished run (and its
            # log) in memory until a full collection, long after the registry dropped it.
            self.release_subscribers()

    def _flush_subscribers(self) -> None:
        """The producer is about to wait: let subscribers write what it published meanwhile."""
        for subscriber in self._subscribers:
            flush = getattr(subscriber, "flush_now", None)
            if flush is not None:
                try:
                    flush()
                except Exception:  # a subscriber's bug must not stop the run
                    logger.exception("run=%s | a subscriber failed to flush", self.id)

    async def _produce(self, producer: Producer) -> None:
        try:
            async with contextlib.aclosing(
                cast(AsyncGenerator[Event, None], producer(self))
            ) as events:
                async for event in events:
                    if self.cancel_asked:
                        break
                    self.publish(event)
                    if self.state is not RunState.RUNNING:  # finished (inline: per token)
                        break
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the producer's failure becomes the run's error event
            logger.exception("run=%s | producer failed", self.id)
            self.publish(RunError(message=_describe(exc), code=_code(exc)))
        if self.cancel_asked:
            reason = self.cancel_reason or "Run cancelled"
            self.publish(RunError(message=reason, code=CANCELLED_CODE))
        elif not self.finished:
            self.publish(RunFinished(result=None))

    def cancel(self, reason: str = "Run cancelled by the user", grace: float = 1.0) -> bool:
        """Ask the run to stop; returns False if it had already ended.

        The model sees ``cancel_signal`` between tokens; a producer that does not stop within
        ``grace`` seconds has its task cancelled.
        """
        if not self.request_cancel(reason):
            return False
        if self._task is not None and not self._task.done():
            asyncio.get_running_loop().call_later(grace, self._force_stop)
        return True

    def _force_stop(self) -> None:
        if self._task is not None and not self._task.done():
            logger.warning("run=%s | producer ignored cancel; cancelling its task", self.id)
            self._task.cancel()

    async def wait(self) -> None:
        """Wait for the run to end."""
        await self.done.wait()


_NOTHING: Any = object()


class Stepper:
    """Await ``coro`` as ``await`` would (what ``yield from`` does), with two additions.

    - ``on_suspend``: called each time ``coro`` is about to wait, and at its end;
    - ``pending``: ``coro`` was stepped by hand and yielded this; it is handed to the task first
      (the rest of a send a connection began outside any task of its own).

    Whatever ``coro`` yields goes to the task unchanged, and what the task sends or throws back
    (a result, a cancel) goes to ``coro`` unchanged.
    """

    __slots__ = ("coro", "on_suspend", "pending")

    def __init__(
        self,
        coro: Coroutine[Any, Any, None],
        *,
        on_suspend: Callable[[], None] | None = None,
        pending: Any = _NOTHING,
    ) -> None:
        """Drive ``coro``; see the class docstring for ``on_suspend`` and ``pending``."""
        self.coro = coro
        self.on_suspend = on_suspend
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        """Step ``coro`` to its end, handing its waits to the task that awaits this."""
        coro, on_suspend, yielded = self.coro, self.on_suspend, self.pending
        sent, thrown = None, None
        while True:
            if yielded is _NOTHING:
                try:
                    yielded = coro.send(sent) if thrown is None else coro.throw(thrown)
                except StopIteration:
                    if on_suspend is not None:
                        on_suspend()  # the end: what the last step published goes out too
                    return
                if on_suspend is not None:
                    on_suspend()
            try:
                sent, thrown = (yield yielded), None
            except BaseException as exc:  # a cancel: coro decides what it means
                sent, thrown = None, exc
            yielded = _NOTHING


# Errors whose text says nothing to a client and may name files or internals: type name only.
_OPAQUE = (RecursionError, MemoryError, OSError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _OPAQUE):
        return f"internal error ({type(exc).__name__})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _code(exc: BaseException) -> str:
    """The error frame's code: an AgentstreamError names its own, anything else is a bug."""
    if isinstance(exc, AgentstreamError):
        return exc.code
    return AgentstreamError.code


__all__ = ["Producer", "Run", "RunState", "Stepper", "Subscriber", "new_run_id"]
