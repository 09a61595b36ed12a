"""Garbage-collector settings for a streaming server process.

A gateway allocates a few tracked objects per event (the event, its frame cache, futures) and
keeps recent runs in memory for replay. Under CPython's default thresholds (700, 10, 10) a
1000-stream burst ran nine full collections of ~100 ms each: 40 % of the server's CPU and the
worst first-event delays in ``bench/streams.py``. Freezing what exists once the app has started
(modules, the app, the model) and collecting the young generation every 10,000 allocations cut the
collector's time about four times (``docs/benchmarks.md``). The middle generation is collected
every 5 young collections, not 20: its pause grows with what survives meanwhile (a thousand live
streams' objects), and at 20 one pause reached 160 ms, the whole p99 latency of a 1000-stream
run, for the same total time in the collector. Set ``AGENTSTREAM_GC_TUNING=0`` to
keep the interpreter's settings (an app embedding the gateway that tunes the collector itself).
"""

from __future__ import annotations

import gc
import logging
import os

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = (700, 10, 10)
SERVER_THRESHOLD = (10_000, 5, 100)

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
