"""The producing invocation's side of a run: post each subscriber what it has not had yet.

A :class:`Fanout` is a subscriber of the run (it only wakes the loop; the run's log holds the
events). Every ``window_s`` (100 ms by default) while events arrive it reads the run's
``live_runs`` item, so subscribers added by a ``resume`` in another invocation are served from
their ``lastSeq`` (replay, then live, from the one log: no gap, no duplicate), a raised cancel
flag stops the run, and clients that left (410) are dropped with their connection rows. Text
merges within the window, so a 1,000-token answer is ~50 posts instead of 1,000: that is what
keeps the AWS path as fast as the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from agentstream.aws.live import LiveRow, LiveRuns, Subscription
from agentstream.aws.peer import post_frames
from agentstream.aws.sender import Sender
from agentstream.gateway.outbox import Outbox
from agentstream.protocol.dialects import Dialect, UnknownDialect, get_dialect
from agentstream.protocol.events import Event
from agentstream.runs.log import LogGap
from agentstream.runs.run import Run

logger = logging.getLogger(__name__)

# How long the producer waits for the recorder to write the run's end before finishing.
RECORD_WAIT_S = 10.0


class Fanout:
    """Serves one run's subscribers, across invocations, from the invocation that produces it."""

    def __init__(
        self,
        run: Run,
        live: LiveRuns,
        sender: Sender,
        *,
        store: Any = None,
        window_s: float = 0.1,
        detach_grace_s: float = 60.0,
    ) -> None:
        """Serve ``run`` through ``sender``, reading ``live`` for subscribers and cancel."""
        self.run = run
        self.live = live
        self.sender = sender
        self.store = store
        self.window_s = window_s
        self.detach_grace_s = detach_grace_s
        self.sent: dict[str, int] = {}
        self._asked: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._alone_since: float | None = None
        self.flushes = 0
        self.frames_posted = 0  # for the run's metrics (``emf.py``)
        self.first_post_at: float | None = None  # wall time of the first frame posted

    def deliver(self, event: Event) -> None:
        """The run published ``event`` (it is in the log): wake the flush loop."""
        self._wake.set()

    async def serve(self) -> None:
        """Flush every window until the run ends, then finish the live item and flush the rest."""
        self.run.subscribe(self, after_seq=self.run.last_seq)  # the log is read, not replayed
        while not self.run.finished:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.run.wait(), self.window_s)
            if not self.run.finished:
                row = await self.live.read(self.run.id)
                if row is not None:
                    await self._act(row)
        # The end goes out at once to whoever streams it; only then wait for the recorder, so
        # the store write never delays the last frames.
        row = await self.live.read(self.run.id)
        if row is not None:
            await self._flush(row)
        await self._recorded()
        await self._flush(await self.live.finish(self.run.id))

    async def _act(self, row: LiveRow) -> None:
        if row.cancel and not self.run.finished:
            logger.info("run=%s | cancel flag seen", self.run.id)
            self.run.cancel()
        await self._flush(row)
        self._check_alone(row)

    def _check_alone(self, row: LiveRow) -> None:
        """Nobody streams it: cancel after the detach grace, as the local gateway does."""
        if row.subs:
            self._alone_since = None
            return
        now = time.monotonic()
        self._alone_since = self._alone_since or now
        if now - self._alone_since >= self.detach_grace_s:
            self.run.cancel("Nobody resumed the run after a disconnect")

    async def _flush(self, row: LiveRow) -> None:
        subs = [sub for sub in row.subs.values() if not sub.held]
        self.flushes += 1
        await asyncio.gather(*(self._serve_one(sub) for sub in subs))

    def _cursor(self, sub: Subscription) -> int:
        # A subscription asked anew (a resume on the same connection) restarts from its lastSeq.
        if self._asked.get(sub.connection_id) != sub.after_seq:
            self._asked[sub.connection_id] = sub.after_seq
            self.sent[sub.connection_id] = sub.after_seq
        return self.sent[sub.connection_id]

    async def _serve_one(self, sub: Subscription) -> None:
        dialect = _dialect(sub.dialect)
        try:
            events = self.run.log.after(self._cursor(sub))
        except LogGap as exc:
            logger.warning("run=%s conn=%s | %s", self.run.id, sub.connection_id, exc)
            await self._drop(sub.connection_id)
            return
        if not events:
            return
        outbox = Outbox(dialect, limit=len(events) + 1, coalesce=True)
        for event in events:
            outbox.add_event(event)
        frames = outbox.take_all()
        self.sent[sub.connection_id] = events[-1].seq
        sent = await asyncio.to_thread(post_frames, self.sender, sub.connection_id, dialect, frames)
        if not sent:
            await self._drop(sub.connection_id)
            return
        self.frames_posted += len(frames)
        if self.first_post_at is None:
            self.first_post_at = time.time()

    async def _drop(self, connection_id: str) -> None:
        """The client left: forget the subscriber and the connection row."""
        logger.info("run=%s conn=%s | subscriber left", self.run.id, connection_id)
        try:
            await self.live.unsubscribe(self.run.id, connection_id)
            if self.store is not None:
                await self.store.delete_connection(connection_id)
        except Exception:  # best effort: both rows also expire by their TTL
            logger.warning("run=%s conn=%s | cleanup failed", self.run.id, connection_id)

    async def _recorded(self) -> None:
        """Wait until the recorder wrote the run's end, so a late resume can replay it all."""
        if self.store is None:
            return
        deadline = time.monotonic() + RECORD_WAIT_S
        while time.monotonic() < deadline:
            row = await self.store.get_run(self.run.id)
            if row is None or row.state != "running":
                return
            await asyncio.sleep(0.05)
        logger.warning("run=%s | the recorder did not finish in time", self.run.id)


def _dialect(name: str) -> Dialect:
    try:
        return get_dialect(name)
    except UnknownDialect:
        return get_dialect("agentstream")
