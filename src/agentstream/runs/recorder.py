"""Keep a run's events in the store, so a restart or another node can replay them.

The recorder is a run subscriber like a connection. It never writes per token: events are
buffered and written in batches (every ``interval`` seconds and at the end), because the
per-token path must stay as fast as the model and a store write may be an fsync or an HTTPS call.
A store that fails is logged and retried on the next batch; it never fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from agentstream.protocol.codec import decode, encode
from agentstream.protocol.events import Event, is_terminal
from agentstream.runs.run import Run
from agentstream.runs.state import RunState

logger = logging.getLogger(__name__)

MAX_FAILURES = 5


class RunRecorder:
    """Buffers one run's events and writes them to ``store`` in batches."""

    def __init__(
        self, store: Any, run: Run, *, ttl_s: float = 3600.0, interval: float = 0.25
    ) -> None:
        """Record ``run`` in ``store``, kept for ``ttl_s`` seconds."""
        self.store = store
        self.run = run
        self.ttl_s = ttl_s
        self.interval = interval
        self._pending: list[tuple[int, str]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ended = False
        self._failures = 0
        limits = getattr(store, "limits", None)
        # The store keeps a bounded log; the live run keeps streaming past it from memory.
        self._max_seq = int(getattr(limits, "max_events_per_run", 1 << 62))

    def start(self) -> None:
        """Watch the run (before it publishes) and start writing.

        A watcher, not a subscriber: a recorded run nobody streams is still cancelled after the
        detach grace.
        """
        self.run.watch(self)
        self._task = asyncio.create_task(self._loop(), name=f"recorder:{self.run.id}")

    def deliver(self, event: Event) -> None:
        """Buffer one event (events past the store's bound are not recorded)."""
        if event.seq <= self._max_seq:
            try:
                self._pending.append((event.seq, encode(event)))
            except (TypeError, ValueError):  # orjson.JSONEncodeError: skip it, keep recording
                logger.warning("run=%s seq=%d | event could not be encoded", self.run.id, event.seq)
        if is_terminal(event):
            self._ended = True
            self._wake.set()

    async def _loop(self) -> None:
        try:
            await self.store.put_run(
                self.run.id, self.run.owner, self.run.app or "default", "running", self.ttl_s, {}
            )
        except Exception:  # any store failure: recording is best-effort, the live run goes on
            logger.exception("run=%s | could not record the run", self.run.id)
            return
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            await self._flush()
            if self._ended and not self._pending:
                await self._close()
                return

    async def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            await self.store.append_events(self.run.id, batch)
            self._failures = 0
        except Exception:  # any store failure: retried with backoff, logged, never fails the run
            self._failures += 1
            if self._failures >= MAX_FAILURES:
                logger.exception(
                    "run=%s | store keeps failing; %d events not recorded", self.run.id, len(batch)
                )
                return
            logger.warning(
                "run=%s | store write failed; will retry %d events",
                self.run.id,
                len(batch),
                exc_info=True,
            )
            self._pending = batch + self._pending
            await asyncio.sleep(self.interval * self._failures)

    async def _close(self) -> None:
        try:
            await self.store.set_run_state(self.run.id, self.run.state)
        except Exception:  # any store failure: the row's TTL ends it; the run itself is over
            logger.warning("run=%s | could not record the final state", self.run.id, exc_info=True)

    async def wait(self) -> None:
        """Wait until everything is written (tests and shutdown)."""
        if self._task is not None:
            await self._task


def replay_state(recorded: str, events: list[Event]) -> str:
    """What ``resume`` answers for a run replayed from the store.

    A run recorded as running that no process holds was cut off by a restart; one whose recorded
    log stops before its end (longer than the store keeps) cannot be replayed whole. Both answer
    ``expired``; a run whose whole tail is kept answers its recorded end state.
    """
    if recorded == RunState.RUNNING:
        return "expired"
    if events:
        return recorded if is_terminal(events[-1]) else "expired"
    return recorded


async def stored_events(store: Any, run_id: str, after_seq: int = 0) -> list[Event]:
    """A recorded run's events after ``after_seq``."""
    return [decode(text) for _, text in await store.read_events(run_id, after_seq)]
