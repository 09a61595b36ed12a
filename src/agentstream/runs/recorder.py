"""Keep runs' events in the store, so a restart or another node can replay them.

One :class:`Recorder` per process writes every live run. It never writes or encodes per token:
each run's watcher only keeps the event, and the recorder's one task writes what all runs kept
in ONE store call (:meth:`~agentstream.stores.protocols.RunLogStore.record_runs`) every
``interval`` seconds, and soon (``linger``) after a run starts or ends. The per-token path must
stay as fast as the model, and a store write may be an fsync or an HTTPS call.

Why one writer for all runs rather than a task and three store calls per run (header, rows, end
state): at a thousand short streams those calls, not the events, were the store's work
(``bench/streams.py``). A run's first batch writes its header with its first rows; its last
writes the end state with its last rows, in one step of the store.

Consecutive text deltas of one message become one stored row carrying the ``seq`` of its last
delta (as a coalescing connection sends them) and the ``parts`` it was made of, so a resume from
any ``seq`` inside the row is still exact. A store that fails is logged and retried with
backoff; it never fails a run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from agentstream.protocol.codec import DecodeError, dumps, encode, from_dict, loads, to_dict
from agentstream.protocol.events import TERMINAL, Event, TextMessageChunk, is_terminal
from agentstream.runs.batching import BatchLoop
from agentstream.runs.coalesce import joins
from agentstream.runs.run import Run
from agentstream.runs.state import RunState
from agentstream.stores.rows import RunWrite

logger = logging.getLogger(__name__)

# Tries of one run's write before its rows (or, never created, the run) are given up.
MAX_FAILURES = 5
# A stored row merges at most this many deltas, so its ``parts`` list stays small.
MAX_PARTS = 256
# Rows decoded between two yields to the event loop when replaying from the store.
REPLAY_BATCH = 256


class _Recording:
    """One run's share of the recorder: what it kept and has yet to write."""

    __slots__ = (
        "created",
        "ended",
        "failures",
        "max_seq",
        "not_before",
        "pending",
        "retry",
        "run",
        "soon",
    )

    def __init__(self, run: Run, max_seq: int, soon: Callable[[], None]) -> None:
        self.run, self.max_seq, self.soon = run, max_seq, soon
        self.pending: list[Event] = []
        self.retry: list[tuple[int, str]] = []
        self.created = False  # the run's header is in the store
        self.ended = False  # the run's terminal event was delivered
        self.failures = 0
        self.not_before = 0.0  # monotonic time of the next try after a failure

    def deliver(self, event: Event) -> None:
        """Keep one event for the next batch (events past the store's bound are not recorded)."""
        if event.seq <= self.max_seq:
            self.pending.append(event)
        if isinstance(event, TERMINAL):
            self.ended = True
            self.soon()

    def take(self, ttl_s: float) -> RunWrite | None:
        """This run's part of the next batch, or None when it has nothing to write."""
        events = self.retry + rows(self.pending, self.run.id)
        self.pending, self.retry = [], []
        state = self.run.state if self.ended else None
        if self.created and not events and state is None:
            return None
        run = self.run
        return RunWrite(
            run.id, run.owner, run.app or "default", ttl_s, not self.created, events, state
        )


class Recorder:
    """Records every run it is given in ``store``, all runs' writes batched in one call."""

    def __init__(
        self,
        store: Any,
        *,
        ttl_s: float = 3600.0,
        interval: float = 0.25,
        linger: float = 0.01,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        """Record runs in ``store``, kept for ``ttl_s`` seconds.

        Args:
            store: A :class:`~agentstream.stores.protocols.RunLogStore`.
            ttl_s: How long a run's header and log are kept.
            interval: Seconds between batches while runs stream.
            linger: Seconds a batch waits after a run starts or ends, so a burst shares it.
            observe: Given the seconds each batch write took (a metrics histogram).
        """
        self.store = store
        self.ttl_s = ttl_s
        self.observe = observe
        self._live: dict[str, _Recording] = {}
        self._batches = BatchLoop(
            self._write,
            lambda: bool(self._live),
            interval=interval,
            linger=linger,
            name="recorder",
        )
        limits = getattr(store, "limits", None)
        # The store keeps a bounded log; the live run keeps streaming past it from memory.
        self._max_seq = int(getattr(limits, "max_events_per_run", 1 << 62))

    def record(self, run: Run) -> None:
        """Watch ``run`` (before it publishes) and write its header, events and end state.

        A watcher, not a subscriber: a recorded run nobody streams is still cancelled after the
        detach grace.
        """
        if self._batches.start():
            self._live = {}  # those runs' loop is gone
        recording = _Recording(run, self._max_seq, self._batches.wake)
        run.watch(recording)
        self._live[run.id] = recording
        self._batches.wake()

    @property
    def recording(self) -> int:
        """How many runs still have something to write."""
        return len(self._live)

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait (at most ``timeout_s``) until every ended run is written; False if time ran out.

        Runs still live keep the recorder busy: shutdown cancels them first.
        """
        return await self._batches.drain(timeout_s)

    async def _write(self) -> None:
        now = time.monotonic()
        batch: list[tuple[_Recording, RunWrite]] = []
        for recording in list(self._live.values()):
            if recording.not_before <= now:
                write = recording.take(self.ttl_s)
                if write is not None:
                    batch.append((recording, write))
        if not batch:
            return
        started = time.perf_counter()
        try:
            outcomes = await self.store.record_runs([write for _, write in batch])
        except Exception as exc:  # any store failure: every write of the batch is retried
            outcomes = [exc] * len(batch)
        if self.observe is not None:
            self.observe(time.perf_counter() - started)
        for (recording, write), outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                self._landed(recording, write)
            else:
                self._failed(recording, write, outcome)

    def _landed(self, recording: _Recording, write: RunWrite) -> None:
        recording.created, recording.failures = True, 0
        if write.state is not None:
            del self._live[recording.run.id]

    def _failed(self, recording: _Recording, write: RunWrite, error: BaseException) -> None:
        """Keep a failed write for a later batch, with backoff; give it up after MAX_FAILURES."""
        run_id = recording.run.id
        recording.failures += 1
        if recording.failures < MAX_FAILURES:
            logger.warning(
                "run=%s | store write failed; will retry %d events",
                run_id,
                len(write.events),
                exc_info=error,
            )
            recording.retry = write.events + recording.retry
            recording.not_before = time.monotonic() + self._batches.interval * recording.failures
            return
        recording.failures = 0
        if not recording.created:
            # Without its header nothing of the run can be stored: stop recording it.
            logger.error("run=%s | could not record the run", run_id, exc_info=error)
            self._live.pop(run_id, None)
            recording.run.unsubscribe(recording)
        elif write.state is not None:
            logger.error(
                "run=%s | could not record the final state; %d events not recorded",
                run_id,
                len(write.events),
                exc_info=error,
            )
            self._live.pop(run_id, None)
        else:
            logger.error(
                "run=%s | store keeps failing; %d events not recorded",
                run_id,
                len(write.events),
                exc_info=error,
            )


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
        _append_row(out, event, run_id)
    _flush_group(group, out, run_id)
    return out


def _joins(group: list[TextMessageChunk], event: TextMessageChunk, size: int) -> bool:
    """Whether ``event`` may merge into ``group`` (the live rule, and at most MAX_PARTS)."""
    return len(group) < MAX_PARTS and joins(group[-1], event, size)


def _flush_group(group: list[TextMessageChunk], out: list[tuple[int, str]], run_id: str) -> None:
    if len(group) == 1:
        _append_row(out, group[0], run_id)
    elif group:
        # The last delta's frame with every delta's text: one dict, no merged event made.
        last = group[-1]
        frame = to_dict(last)
        frame["delta"] = "".join([e.delta for e in group])
        frame["parts"] = [(e.seq, len(e.delta), e.ts) for e in group]
        _append_row(out, last, run_id, frame)


def _append_row(
    out: list[tuple[int, str]], event: Event, run_id: str, frame: dict[str, Any] | None = None
) -> None:
    """Add ``event``'s row: its shared frame text, or ``frame`` (a merged row) encoded."""
    try:
        text = encode(event) if frame is None else dumps(frame)
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
