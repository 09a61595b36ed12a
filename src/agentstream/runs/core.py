"""One request's stream as a plain object: seq counter, replay log, subscribers, state, cancel.

No asyncio and no socket here, so every rule is tested by feeding events and reading them back
(as ``websockets`` tests its protocol). ``publish`` stamps each event and hands it to every
subscriber synchronously, without awaiting, so a slow connection can never stall the model:
connections buffer and apply backpressure themselves. Because ``subscribe`` replays the log and
attaches in one synchronous step, a subscriber sees every event exactly once, whatever the timing
of a resume. :class:`agentstream.runs.run.Run` drives one of these from an asyncio task.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from agentstream.protocol.events import TERMINAL, Event, stamp
from agentstream.runs.log import RunLog
from agentstream.runs.state import RunState, next_state

logger = logging.getLogger(__name__)

# Guards making a run's cancel Event against its being set meanwhile (from another thread).
_SIGNAL_LOCK = threading.Lock()


class Subscriber(Protocol):
    """Something that receives a run's events (a connection, an SSE stream, a test)."""

    def deliver(self, event: Event) -> None:
        """Take one event; must not block."""
        ...


def new_run_id() -> str:
    """A fresh, unguessable run id: 128 random bits in hex (a UUID object cost more to make)."""
    return "run_" + os.urandom(16).hex()


class RunCore:
    """The state of one streaming request, with no I/O."""

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
        self.cancel_reason = ""
        self._cancel_requested = False
        # The threading.Event a model in a worker thread polls, made on first use: most runs
        # never hand it to a thread, and making one (a Condition and a lock) was a tenth of a
        # run's own start-up cost at a thousand short streams (bench/streams.py).
        self._cancel_event: threading.Event | None = None
        self._subscribers: list[Subscriber] = []
        # Get every event but keep nobody's run alive (the store recorder): not counted.
        self._watchers: list[Subscriber] = []
        # Watchers then subscribers, as publish hands them each event: rebuilt when they change
        # (rarely), so the per-token path neither copies a list nor sees one change under it.
        self._targets: tuple[Subscriber, ...] = ()
        self._seq = 0
        self._clock = clock
        self.started_at = clock()
        self._end_callbacks: list[Callable[[RunCore], None]] = []

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
        if self.state is not RunState.RUNNING:  # finished (inline: the per-token path)
            logger.debug("run=%s | dropped %s after the end", self.id, event.type)
            return event
        self._seq += 1
        event = stamp(event, run_id=self.id, seq=self._seq, ts=self._clock())
        self.log.append(event)
        if isinstance(event, TERMINAL):  # only a terminal event can change the state
            state = next_state(self.state, event)
            if state is not self.state:
                self.state = state
                self._ended()
                self._call_end_callbacks()
        # A tuple: a broken subscriber is removed inside the loop.
        for subscriber in self._targets:
            try:
                subscriber.deliver(event)
            except Exception:  # one broken subscriber must not stop the run or the others
                logger.exception(
                    "run=%s seq=%d | a subscriber failed; detaching it", self.id, event.seq
                )
                self.unsubscribe(subscriber)
        return event

    def _ended(self) -> None:
        """Called once, when the run reaches an end state (drivers wake their waiters)."""

    def on_end(self, callback: Callable[[RunCore], None]) -> None:
        """Call ``callback(run)`` once, when the run reaches its end state (metrics, cleanup)."""
        self._end_callbacks.append(callback)

    def _call_end_callbacks(self) -> None:
        for callback in self._end_callbacks:
            try:
                callback(self)
            except Exception:  # an observer's bug must not stop the terminal event going out
                logger.exception("run=%s | an end callback failed", self.id)

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
            self._retarget()
        return len(missed)

    def watch(self, watcher: Subscriber) -> None:
        """Deliver every later event to ``watcher`` without counting it as a subscriber.

        A run whose only listener is a watcher is detached: the grace period still cancels it.
        """
        if not self.finished and watcher not in self._watchers:
            self._watchers.append(watcher)
            self._retarget()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber`` (or watcher)."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
        if subscriber in self._watchers:
            self._watchers.remove(subscriber)
        self._retarget()

    def release_subscribers(self) -> None:
        """Drop every subscriber and watcher of an ended run (nothing more will be published)."""
        if self.finished:
            self._subscribers.clear()
            self._watchers.clear()
            self._retarget()

    def _retarget(self) -> None:
        self._targets = (*self._watchers, *self._subscribers)

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are attached (watchers not counted)."""
        return len(self._subscribers)

    # -- cancel --------------------------------------------------------------------------------

    @property
    def cancel_signal(self) -> threading.Event:
        """Set once a cancel is asked: a model in a worker thread polls it between tokens."""
        event = self._cancel_event
        if event is None:
            with _SIGNAL_LOCK:
                event = self._cancel_event
                if event is None:
                    event = threading.Event()
                    if self._cancel_requested:
                        event.set()
                    self._cancel_event = event
        return event

    @property
    def cancel_asked(self) -> bool:
        """Whether a cancel was asked (by :meth:`request_cancel`, or the signal set directly)."""
        event = self._cancel_event
        return self._cancel_requested or (event is not None and event.is_set())

    def request_cancel(self, reason: str = "Run cancelled by the user") -> bool:
        """Raise the cancel signal; False when the run already ended or was asked before."""
        if self.finished or self.cancel_asked:
            return False
        self.cancel_reason = reason
        with _SIGNAL_LOCK:
            self._cancel_requested = True
            if self._cancel_event is not None:
                self._cancel_event.set()
        return True
