"""Keep a run's events in the store, so a restart or another node can replay them.

The recorder is a run watcher. It never writes or encodes per token: ``deliver`` only keeps the
event, and a batch (every ``interval`` seconds and at the end) is coalesced and written from the
recorder's own task, because the per-token path must stay as fast as the model and a store
write may be an fsync or an HTTPS call. Consecutive text deltas of one message become one
stored row carrying the ``seq`` of its last delta (as a coalescing connection sends them) and
the ``parts`` it was made of, so a resume from any ``seq`` inside the row is still exact.
A store that fails is logged and retried on the next batch; it never fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from agentstream.protocol.codec import DecodeError, dumps, encode, from_dict, loads, to_dict
from agentstream.protocol.events import TERMINAL, Event, TextMessageChunk, is_terminal
from agentstream.runs.coalesce import joins
from agentstream.runs.run import Run
from agentstream.runs.state import RunState

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
# A stored row merges at most this many deltas, so its ``parts`` list stays small.
MAX_PARTS = 256
# Rows decoded between two yields to the event loop when replaying from the store.
REPLAY_BATCH = 256


class RunRecorder:
    """Buffers one run's events and writes them to ``store`` in batches."""

    def __init__(
        self,
        store: Any,
        run: Run,
        *,
        ttl_s: float = 3600.0,
        interval: float = 0.25,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        """Record ``run`` in ``store``, kept for ``ttl_s`` seconds.

        ``observe`` is given the seconds each batch write took (a metrics histogram).
        """
        self.store = store
        self.observe = observe
        self.run = run
        self.ttl_s = ttl_s
        self.interval = interval
        self._pending: list[Event] = []
        self._retry: list[tuple[int, str]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ended = False
        self._failures = 0
        limits = getattr(store, "limits", None)
        # The store keeps a bounded log; the live run keeps streaming past it from memory.
        self._max_seq = int(getattr(limits, "max_events_per_run", 1 << 62))

    def start(self) -> asyncio.Task[None]:
        """Watch the run (before it publishes) and start writing; returns the writing task.

        A watcher, not a subscriber: a recorded run nobody streams is still cancelled after the
        detach grace.
        """
        self.run.watch(self)
        self._task = asyncio.create_task(self._loop(), name=f"recorder:{self.run.id}")
        return self._task

    def deliver(self, event: Event) -> None:
        """Keep one event for the next batch (events past the store's bound are not recorded)."""
        if event.seq <= self._max_seq:
            self._pending.append(event)
        if isinstance(event, TERMINAL):
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
                async with asyncio.timeout(self.interval):  # no task per wait, unlike wait_for
                    await self._wake.wait()
            await self._flush()
            if self._ended and not self._pending and not self._retry:
                await self._close()
                return

    async def _flush(self) -> None:
        if not self._pending and not self._retry:
            return
        events, self._pending = self._pending, []
        batch = self._retry + rows(events, self.run.id)
        self._retry = []
        if not batch:
            return
        started = time.perf_counter()
        try:
            await self.store.append_events(self.run.id, batch)
            self._failures = 0
            if self.observe is not None:
                self.observe(time.perf_counter() - started)
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
            self._retry = batch
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


def rows(events: list[Event], run_id: str = "") -> list[tuple[int, str]]:
    """The ``(seq, text)`` rows to store for ``events``: consecutive text deltas merged.

    A merged row is the merged chunk's canonical frame (``seq`` and ``ts`` of its last delta)
    plus ``parts``: ``[seq, length, ts]`` of each delta in it, so :func:`stored_events` gives back
    the very frames a live client saw, from any ``seq``. A lone event is stored as the text a
    connection in the canonical dialect sent (encoded once, shared).
    """
    out: list[tuple[int, str]] = []
    group: list[TextMessageChunk] = []
    size = 0
    for event in events:
        if isinstance(event, TextMessageChunk):
            if group and _joins(group, event, size):
                group.append(event)
                size += len(event.delta)
                continue
            _flush_group(group, out, run_id)
            group, size = [event], len(event.delta)
            continue
        _flush_group(group, out, run_id)
        group, size = [], 0
        _append_row(out, event, None, run_id)
    _flush_group(group, out, run_id)
    return out


def _joins(group: list[TextMessageChunk], event: TextMessageChunk, size: int) -> bool:
    """Whether ``event`` may merge into ``group`` (the live rule, and at most MAX_PARTS)."""
    return len(group) < MAX_PARTS and joins(group[-1], event, size)


def _flush_group(group: list[TextMessageChunk], out: list[tuple[int, str]], run_id: str) -> None:
    if len(group) == 1:
        _append_row(out, group[0], None, run_id)
    elif group:
        # One copy for the whole group (merging pairwise would copy once per delta).
        merged = dataclasses.replace(group[-1], delta="".join(e.delta for e in group))
        parts = [[e.seq, len(e.delta), e.ts] for e in group]
        _append_row(out, merged, parts, run_id)


def _append_row(
    out: list[tuple[int, str]], event: Event, parts: list[list[Any]] | None, run_id: str
) -> None:
    try:
        text = encode(event) if parts is None else dumps({**to_dict(event), "parts": parts})
    except (TypeError, ValueError):  # orjson.JSONEncodeError: skip it, keep recording
        logger.warning("run=%s seq=%d | event could not be encoded", run_id, event.seq)
        return
    out.append((event.seq, text))


async def stored_events(store: Any, run_id: str, after_seq: int = 0) -> list[Event]:
    """A recorded run's events after ``after_seq``, merged rows split back into their deltas.

    Decodes in bounded batches, yielding to the loop between them: a long replay must not hold
    up other streams' first events.
    """
    events: list[Event] = []
    for i, (_, text) in enumerate(await store.read_events(run_id, after_seq)):
        if i and i % REPLAY_BATCH == 0:
            await asyncio.sleep(0)
        events.extend(_decode(text, after_seq))
    return events


def decode_row(text: str, after_seq: int = 0) -> list[Event]:
    """The events of one stored row with seq > ``after_seq`` (a merged row split back)."""
    return _decode(text, after_seq)


def _decode(text: str, after_seq: int) -> list[Event]:
    frame = loads(text)
    if not isinstance(frame, dict):
        raise DecodeError("an event must be a JSON object")
    parts = frame.pop("parts", None)
    if not isinstance(parts, list) or not isinstance(frame.get("delta"), str):
        return [from_dict(frame)]
    events: list[Event] = []
    delta, start = frame["delta"], 0
    for seq, length, ts in parts:
        if seq > after_seq:  # deltas the reader already saw are left out
            events.append(
                from_dict({**frame, "seq": seq, "ts": ts, "delta": delta[start : start + length]})
            )
        start += length
    return events
