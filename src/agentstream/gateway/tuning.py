"""Garbage-collector settings for a streaming server process.

A gateway allocates a few tracked objects per event (the event, its frame cache, futures) and
keeps recent runs in memory for replay. Under CPython's default thresholds (700, 10, 10) a
1000-stream burst ran nine full collections of ~100 ms each: 40 % of the server's CPU and the
worst first-event delays in ``bench/streams.py``. Freezing what exists once the app has started
(modules, the app, the model) and collecting the young generation every 10,000 allocations cut the
collector's time about four times (``docs/benchmarks.md``). The middle generation is collected
every 5 young collections, not 20: its pause grows with what survives meanwhile (a thousand live
streams' objects), and at 20 one pause reached 160 ms, the whole p99 latency of a 1000-stream
run, for the same total time in the collector.

A full collection comes every 20 middle ones (every 6,000–8,000 streams of 40 events), and sooner
when the server goes idle. uvicorn's and websockets' per-connection objects refer to each other, so
every closed socket leaves garbage only a full collection frees. With full collections every 100
middle ones, the bench's server (``bench/streams.py``'s, recording to SQLite in memory) stopped for
1.1 s to collect them after 31,000 streams of 40 events, its RSS up 330 MB meanwhile; every 20, the
longest stop was 0.31 s and RSS grew 180 MB over as many streams, for about the same time in the
collector (33 against 35 ms per 1000 streams; every 10: 0.21 s, but 42 ms per 1000).

A stop in the middle of streams holds every token in flight, so :func:`collect_if_idle` runs the
full collection when the process's last live run ends, once 10 middle collections have passed since
the last: in the same bench, rounds of 1000 streams with gaps between them, every full collection
(0.17–0.23 s, every third or fourth round, about 42 ms per 1000 streams) came in a gap, 12 or 13
middle collections after the one before, never at the threshold's 20. Set
``AGENTSTREAM_GC_TUNING=0`` to keep the interpreter's settings (an app embedding the gateway that
tunes the collector itself).
"""

from __future__ import annotations

import gc
import logging
import os
import time

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = (700, 10, 10)
SERVER_THRESHOLD = (10_000, 5, 20)
# Middle-generation collections since the last full one after which a server whose last live
# run just ended collects the whole heap (collect_if_idle): about 3,000 streams of 40 events.
IDLE_COLLECT_AFTER = 10

_tuned = False


def tune_gc() -> bool:
    """Freeze the startup heap and raise the collector's thresholds, once per process.

    Thresholds someone already changed are left alone. Returns whether anything was changed.
    """
    global _tuned
    if _tuned or os.environ.get("AGENTSTREAM_GC_TUNING", "1") == "0":
        return False
    _tuned = True
    gc.collect()
    gc.freeze()
    if gc.get_threshold() == DEFAULT_THRESHOLD:
        gc.set_threshold(*SERVER_THRESHOLD)
    logger.info(
        "gc | froze %d startup objects; thresholds %s", gc.get_freeze_count(), gc.get_threshold()
    )
    return True


def collect_if_idle(after: int | None = None) -> bool:
    """Collect the whole heap now, if this process is tuned and enough has piled up since the last.

    Called when the process's last live run has ended: the pause then holds up no stream, where
    the threshold's own full collection would stop every stream in the middle of its tokens. A
    server that is never idle still gets one from the threshold. Returns whether it collected.
    """
    wanted = IDLE_COLLECT_AFTER if after is None else after
    if not _tuned or not gc.isenabled() or gc.get_count()[2] < wanted:
        return False
    started = time.perf_counter()
    found = gc.collect()
    logger.debug(
        "gc | idle: full collection, %d unreachable objects, %.0f ms",
        found,
        (time.perf_counter() - started) * 1000,
    )
    return True
