"""One request's stream: its seq counter, replay log, subscribers, cancel signal and state.

A :class:`Run` is driven by a producer (an async iterator of unstamped events) in its own task.
``publish`` stamps each event and hands it to every subscriber synchronously, without awaiting, so
a slow connection can never stall the model: connections buffer and apply backpressure themselves.
Because ``subscribe`` replays the log and attaches in one synchronous step, a subscriber sees every
event exactly once, whatever the timing of a resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Protocol, cast

from agentstream.protocol.events import (
    Event,
    RunError,
    RunFinished,
    RunStarted,
    is_terminal,
    stamp,
)
from agentstream.runs.log import RunLog

logger = logging.getLogger(__name__)


class RunState(enum.StrEnum):
    """Where a run is in its life."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Subscriber(Protocol):
    """Something that receives a run's events (a connection, an SSE stream, a test)."""

    def deliver(self, event: Event) -> None:
        """Take one event; must not block."""
        ...


Producer = Callable[["Run"], AsyncIterator[Event]]


def new_run_id() -> str:
    """A fresh, unguessable run id."""
    return "run_" + uuid.uuid4().hex


class Run:
    """The state of one streaming request."""

    def __init__(
        self,
        *,
        owner: str,
        app: str = "",
        run_id: str | None = None,
        log_capacity: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a run owned by ``owner`` (the connecting user's id)."""
        self.id = run_id or new_run_id()
        self.owner = owner
        self.app = app
        self.state = RunState.RUNNING
        self.log = RunLog(log_capacity)
        # A threading.Event so a model running in a worker thread can poll it between tokens.
        self.cancel_signal = threading.Event()
        self.cancel_reason = ""
        self.done = asyncio.Event()
        self._subscribers: list[Subscriber] = []
        self._seq = 0
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    # -- publishing --------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest event published."""
        return self._seq

    @property
    def finished(self) -> bool:
        """Whether the run has published its terminal event."""
        return self.state is not RunState.RUNNING

    def publish(self, event: Event) -> Event:
        """Stamp ``event``, keep it in the log and hand it to every subscriber."""
        if self.finished:
            logger.debug("run=%s | dropped %s after the end", self.id, event.type)
            return event
        self._seq += 1
        event = stamp(event, run_id=self.id, seq=self._seq, ts=self._clock())
        self.log.append(event)
        if is_terminal(event):
            self._finish(event)
        for subscriber in tuple(self._subscribers):
            subscriber.deliver(event)
        return event

    def _finish(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.state = RunState.FINISHED
        elif isinstance(event, RunError) and event.code == "cancelled":
            self.state = RunState.CANCELLED
        else:
            self.state = RunState.FAILED
        self.done.set()

    # -- subscribers ---------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber, after_seq: int = 0) -> int:
        """Replay events after ``after_seq`` to ``subscriber`` and attach it for the rest.

        Returns:
            How many events were replayed.

        Raises:
            LogGap: events after ``after_seq`` are no longer kept.
        """
        missed = self.log.after(after_seq)
        for event in missed:
            subscriber.deliver(event)
        if not self.finished and subscriber not in self._subscribers:
            self._subscribers.append(subscriber)
        return len(missed)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are attached."""
        return len(self._subscribers)

    # -- driving ------------------------------------------------------------------------------

    def start(self, producer: Producer, *, input: object = None) -> asyncio.Task[None]:
        """Run ``producer`` in a task, publishing what it yields."""
        self.publish(RunStarted(input=input))
        self._task = asyncio.create_task(self._drive(producer), name=f"run:{self.id}")
        return self._task

    async def _drive(self, producer: Producer) -> None:
        try:
            async with contextlib.aclosing(
                cast(AsyncGenerator[Event, None], producer(self))
            ) as events:
                async for event in events:
                    if self.cancel_signal.is_set():
                        break
                    self.publish(event)
                    if self.finished:
                        break
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the producer's failure becomes the run's error event
            logger.exception("run=%s | producer failed", self.id)
            self.publish(RunError(message=_describe(exc), code=_code(exc)))
        if self.cancel_signal.is_set():
            self.publish(RunError(message=self.cancel_reason or "Run cancelled", code="cancelled"))
        elif not self.finished:
            self.publish(RunFinished(result=None))

    def cancel(self, reason: str = "Run cancelled by the user", grace: float = 1.0) -> bool:
        """Ask the run to stop; returns False if it had already ended.

        The model sees ``cancel_signal`` between tokens; a producer that does not stop within
        ``grace`` seconds has its task cancelled.
        """
        if self.finished or self.cancel_signal.is_set():
            return False
        self.cancel_reason = reason
        self.cancel_signal.set()
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


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "code", "") or "internal_error")
