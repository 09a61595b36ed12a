"""Stream benchmarks: agentstream's gateway against a bare Starlette endpoint, in the same run.

    .venv/bin/python bench/streams.py [--quick] [--scale F] [--reps N] [--burst N] [--idle N]

Prints a table per measure (throughput at 1/100/1000 clients, latency p50/p99 at 1000 streams,
time to first event alone and under a 1000-stream burst, RSS per idle connection) with the
ratio agentstream / bare. Servers run in their own processes; the client is this process. The
throughput cases run the two servers in turn, ``--reps`` times each, and report each side's
median repetition: on a shared machine a single run swings by a quarter.

An *event* is a run event the model made (a token, the start, the end), counted and timed at the
client: the gateway merges text that waits for a busy socket into fewer frames, so frames/s is
reported beside events/s, and each token's latency runs from its making to its receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import websockets

HERE = Path(__file__).resolve().parent
# Offer permessage-deflate as every browser does (AGENTSTREAM_BENCH_OFFER_DEFLATE=1), or not.
COMPRESSION = "deflate" if os.environ.get("AGENTSTREAM_BENCH_OFFER_DEFLATE") == "1" else None
# What the client asks the gateway for, as agentstream.js and `agentstream call` do: merged text
# when it waits for a busy socket (--coalesce auto); --coalesce off asks for a frame per event,
# as a client that does not say gets. The bare endpoint ignores it.
QUERY = {"coalesce": "auto"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(kind: str):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_servers.py"), kind, str(port)], cwd=HERE.parent
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{kind} server did not start") from None
            time.sleep(0.05)
    try:
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def one_stream(
    port: int, n: int, lat: list[float] | None, pause: float = 0.0
) -> tuple[int, float, int]:
    """One stream of ``n`` tokens: (events received, seconds to the first frame, frames).

    An event is a run event the model made (a token, the start, the end): a frame of merged
    text counts every token in it, and each token's latency is timed from its own making.
    """
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws?coalesce={QUERY['coalesce']}",
        max_size=None,
        compression=COMPRESSION,
        open_timeout=120,
    ) as ws:
        sent = time.time()
        await ws.send(orjson.dumps({"action": "count", "n": n, "pause": pause}).decode())
        count, frames, first = 0, 0, 0.0
        while True:
            frame = orjson.loads(await ws.recv())
            now = time.time()
            frames += 1
            if frames == 1:
                first = now - sent
            if frame["type"] == "TEXT_MESSAGE_CHUNK":
                made = frame["delta"].split()
                count += len(made)
                if lat is not None:
                    lat.extend(now - float(t) for t in made)
            else:
                count += 1
                if lat is not None and "ts" in frame:
                    lat.append(now - frame["ts"])
            if frame["type"] == "RUN_ERROR":
                # A refused or failed stream must not count as a fast one.
                raise RuntimeError(f"stream failed: {frame}")
            if frame["type"] == "RUN_FINISHED":
                if count != n + 2:
                    raise RuntimeError(f"stream lost events: {count} of {n + 2}")
                return count, first, frames


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def throughput(port: int, pid: int, clients: int, n: int) -> dict[str, float]:
    lat: list[float] = []
    cpu = cpu_s(pid)
    start = time.perf_counter()
    results = await asyncio.gather(*(one_stream(port, n, lat) for _ in range(clients)))
    wall = time.perf_counter() - start
    used = cpu_s(pid) - cpu
    events = sum(c for c, _, _ in results)
    lat.sort()
    return {
        "events_per_s": events / wall,
        "frames_per_s": sum(f for _, _, f in results) / wall,
        # Server CPU per event: steadier than events/s on a machine other tenants load.
        "srv_us_per_event": used / events * 1e6,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
    }


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The repetition with the median events/s (the upper middle one of an even count)."""
    return sorted(runs, key=lambda r: r["events_per_s"])[len(runs) // 2]


async def first_event(port: int, burst: int, n: int) -> dict[str, float]:
    """First-event time alone, then of probe streams started every 50 ms while a burst runs.

    Probes run concurrently with the burst (not one after another), so the percentiles describe
    streams that really arrived during it; time is from the probe's request to its first frame.
    """
    alone = []
    for _ in range(20):
        _, first, _ = await one_stream(port, 1, None)
        alone.append(first * 1000)

    async def probe() -> float:
        _, first, _ = await one_stream(port, 1, None)
        return first * 1000

    bursting = [asyncio.create_task(one_stream(port, n, None)) for _ in range(burst)]
    probes = []
    while len(probes) < 10 or not all(task.done() for task in bursting):
        probes.append(asyncio.create_task(probe()))
        await asyncio.sleep(0.05)
    await asyncio.gather(*bursting)
    firsts = sorted(await asyncio.gather(*probes))
    return {
        "alone_p50_ms": statistics.median(alone),
        "burst_p50_ms": firsts[len(firsts) // 2],
        "burst_p99_ms": firsts[min(len(firsts) - 1, int(len(firsts) * 0.99))],
        "probes": len(firsts),
    }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def idle(port: int, pid: int, count: int) -> dict[str, float]:
    base = rss_kb(pid)
    conns = []
    for i in range(0, count, 500):
        conns += await asyncio.gather(
            *(
                websockets.connect(f"ws://127.0.0.1:{port}/ws", compression=None)
                for _ in range(min(500, count - i))
            )
        )
    await asyncio.sleep(2)
    grown = rss_kb(pid) - base
    await asyncio.gather(*(c.close() for c in conns))
    return {"kb_per_conn": grown / count, "rss_mb": (base + grown) / 1024}


def table(title: str, rows: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n#### {title}\n")
    keys = list(next(iter(rows.values()))["agentstream"])
    print("| case | " + " | ".join(f"{k} agentstream / bare (ratio)" for k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for case, pair in rows.items():
        cells = []
        for k in keys:
            a, b = pair["agentstream"][k], pair["bare"][k]
            cells.append(f"{a:,.1f} / {b:,.1f} ({a / b if b else float('nan'):.2f}x)")
        print(f"| {case} | " + " | ".join(cells) + " |")


def sizes(args: argparse.Namespace) -> tuple[list[tuple[int, int]], int, int]:
    """The (clients, events) cases, the burst size and the idle count for these flags."""
    if args.quick:
        return [(1, 2000), (100, 40)], 100, 1000
    scale = args.scale
    cases = [(1, int(20000 * scale)), (100, int(400 * scale)), (1000, max(1, int(40 * scale)))]
    return cases, args.burst, args.idle


async def main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cases, burst, count = sizes(args)
    tput: dict[str, Any] = {}
    first: dict[str, Any] = {}
    mem: dict[str, Any] = {}
    kinds = ("agentstream", "bare")
    with server("agentstream") as ours, server("bare") as bare:
        servers = dict(zip(kinds, (ours, bare), strict=True))
        for port, pid in servers.values():  # first requests import and warm up: not measured
            await throughput(port, pid, 10, 10)
        # The two servers take turns, repetition by repetition (the first to go alternating):
        # a slow spell of a shared machine then falls on both, not on whichever ran second.
        for clients, n in cases:
            reps: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
            for rep in range(args.reps):
                for kind in kinds if rep % 2 == 0 else kinds[::-1]:
                    port, pid = servers[kind]
                    reps[kind].append(await throughput(port, pid, clients, n))
            tput[f"{clients} clients x {n} events"] = {k: median(v) for k, v in reps.items()}
    for kind in kinds:
        with server(kind) as (port, pid):
            first.setdefault(f"{burst}-stream burst", {})[kind] = await first_event(
                port, burst, 200
            )
            if not count:
                continue
            mem.setdefault(f"{count} idle", {})[kind] = await idle(port, pid, count)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, pid {os.getpid()}, "
        f"client asks ?coalesce={QUERY['coalesce']}"
    )
    table(
        "Throughput and latency (events/s, server CPU µs per event, ms from send to receipt)", tput
    )
    table("Time to first event (ms)", first)
    if mem:
        table("Idle connections (KB RSS per connection)", mem)
    if args.json:
        Path(args.json).write_text(
            orjson.dumps({"throughput": tput, "first_event": first, "idle": mem}).decode()
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="events per stream x this (clients unchanged)"
    )
    parser.add_argument(
        "--reps", type=int, default=1, help="repeat each case, the servers taking turns; median"
    )
    parser.add_argument("--burst", type=int, default=1000, help="streams in the burst")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--idle", type=int, default=10000, help="idle connections (0: skip)")
    parser.add_argument(
        "--coalesce",
        default="auto",
        help="?coalesce= the client sends the gateway: auto (as agentstream's clients), off",
    )
    parsed = parser.parse_args()
    QUERY["coalesce"] = parsed.coalesce
    asyncio.run(main(parsed))
