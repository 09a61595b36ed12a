"""SQLite store writes under concurrency: what group commit buys (issue 12).

    .venv/bin/python bench/store_writes.py [--streams N] [--reps R]

Each stream makes the gateway's store calls for one run: put_connection, put_run, append_events
twice, set_run_state, delete_connection. ``N`` streams run with at most ``C`` at a time, for C in
1, 10, 100 and N, against a file with ``synchronous=FULL`` (the default), a file with NORMAL, and
``:memory:``. With C=1 every call is its own batch and its own commit (the store as it was before
group commit); as C grows, calls queue while the thread works and are committed together.
Columns: wall-clock calls/s, process CPU µs per call, and the mean batch size. Best of R runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from agentstream.stores.rows import RunState
from agentstream.stores.sqlite import SQLiteStore

CALLS_PER_STREAM = 6


async def stream(store: SQLiteStore, i: int, gate: asyncio.Semaphore) -> None:
    """One run's store calls, as the gateway makes them."""
    async with gate:
        await store.put_connection(f"c{i}", "user", time.time(), 60)
        await store.put_run(f"r{i}", "user", "bench")
        await store.append_events(f"r{i}", [(1, '{"type":"text","text":"hello"}')])
        await store.append_events(f"r{i}", [(2, '{"type":"done"}')])
        await store.set_run_state(f"r{i}", RunState.FINISHED)
        await store.delete_connection(f"c{i}")


async def measure(path: str, sync: str, streams: int, concurrency: int) -> tuple[float, ...]:
    """(calls/s, CPU µs per call, mean batch size) for one configuration."""
    store = SQLiteStore(path, synchronous=sync)
    await store.open()
    try:
        gate = asyncio.Semaphore(concurrency)
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(stream(store, i, gate) for i in range(streams)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats = store.batch_stats
    finally:
        await store.close()
    calls = streams * CALLS_PER_STREAM
    return calls / wall, cpu / calls * 1e6, stats.calls / max(stats.batches, 1)


def best(target: str, sync: str, streams: int, concurrency: int, reps: int) -> tuple[float, ...]:
    """The run with the most calls/s out of ``reps``, each on a fresh file."""
    runs = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as folder:
            path = target if target == ":memory:" else os.path.join(folder, "bench.db")
            runs.append(asyncio.run(measure(path, sync, streams, concurrency)))
    return max(runs)


def main() -> None:
    """Print one table row per (store, concurrency)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.streams} streams x {CALLS_PER_STREAM} calls, best of {args.reps}\n")
    print("| store | concurrent streams | calls/s | CPU µs/call | mean batch |")
    print("|---|---:|---:|---:|---:|")
    targets = (("file", "FULL"), ("file", "NORMAL"), (":memory:", "FULL"))
    for target, sync in targets:
        label = ":memory:" if target == ":memory:" else f"file, synchronous={sync}"
        for concurrency in sorted({1, 10, 100, args.streams}):
            rate, cpu_us, batch = best(target, sync, args.streams, concurrency, args.reps)
            print(f"| {label} | {concurrency} | {rate:,.0f} | {cpu_us:.0f} | {batch:.1f} |")


if __name__ == "__main__":
    main()
