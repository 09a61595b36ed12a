"""Cluster benchmark: events/s and latency with 1, 2 and 3 gateway nodes on one Redis.

    .venv/bin/python bench/nodes.py [--quick] [--clients 300] [--events 100] [--pause 0]

Starts its own ``redis-server`` on a free port and N gateway processes (a counting app, like
``streams.py``'s, with ``--store redis://…`` and the abuse limits off), then runs the same clients
against them:

- ``direct``: each client starts a run on a node (round robin) and reads it from that node;
- ``follow``: each client starts a run on node i and reads it from node i+1, through the run's
  Redis Stream (what a client that reconnected to another node gets). Needs 2 nodes or more.

Latency is receive time minus the event's ``ts`` (stamped when the run published it). The client
is this one process; servers and Redis each run in their own. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import websockets

HERE = Path(__file__).resolve().parent
ENDS = ("RUN_FINISHED", "RUN_ERROR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Our own redis-server on a free port, no persistence; stopped by its pid."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port)]
        cmd += ["--save", "", "--appendonly", "no", "--dir", workdir, "--bind", "127.0.0.1"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        try:
            wait_port(port, proc, "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def nodes(redis_url: str, count: int) -> Iterator[list[int]]:
    """``count`` gateway processes sharing one Redis (a fresh key prefix); their ports."""
    store = f"{redis_url}?prefix=b{uuid.uuid4().hex[:8]}:"
    procs, ports = [], []
    try:
        for _ in range(count):
            port = free_port()
            cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), store]
            procs.append(subprocess.Popen(cmd, cwd=HERE.parent))
            ports.append(port)
        for port, proc in zip(ports, procs, strict=True):
            wait_port(port, proc, f"node on {port}")
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def serve(port: int, store: str) -> None:
    """One node: a counting app on ``store``, every abuse limit off (this measures throughput)."""
    from collections.abc import AsyncIterator

    import uvicorn
    from pydantic import BaseModel

    from agentstream.gateway.app import create_app
    from agentstream.gateway.context import RouteContext
    from agentstream.gateway.routes import AgentApp
    from agentstream.gateway.settings import Settings
    from agentstream.protocol.events import Event, RunFinished, TextMessageChunk

    class Count(BaseModel):
        n: int = 100
        pause: float = 0.0

    app = AgentApp(name="bench", dialect="agentstream")

    @app.run("count", Count)
    async def count(request: Count, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            await asyncio.sleep(request.pause)
            yield TextMessageChunk(delta=f"tok{i} ", message_id="m")
        yield RunFinished(result={"n": request.n})

    settings = Settings(model="scripted", store=store, send_queue_frames=65536)
    settings.runs_per_minute = settings.frames_per_second = 0
    settings.max_connections_per_ip = settings.max_connections_per_user = 0
    settings.max_active_runs_per_user = 1_000_000
    uvicorn.run(create_app(app, settings), host="127.0.0.1", port=port, log_level="warning")


async def read_run(ws: websockets.ClientConnection, lat: list[float]) -> int:
    count = 0
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("type") == "error" or frame.get("state") in ("unknown", "expired"):
            raise RuntimeError(f"the server refused: {frame}")
        if "seq" not in frame:
            continue  # a control answer (resume)
        lat.append(time.time() - frame["ts"])
        count += 1
        if frame["type"] in ENDS:
            return count


async def one_client(start: int, read: int, n: int, pause: float, lat: list[float]) -> int:
    """Start a run on port ``start``; read it from ``read`` (the same port: directly)."""
    body = orjson.dumps({"action": "count", "n": n, "pause": pause}).decode()
    async with websockets.connect(f"ws://127.0.0.1:{start}/ws", compression=None) as ws:
        await ws.send(body)
        if read == start:
            return await read_run(ws, lat)
        first = orjson.loads(await ws.recv())
        # The identity the first node handed out on the upgrade: only the run's owner may
        # resume it, and every node of the cluster checks the cookie with the shared secret.
        response = ws.response
        cookie = response.headers.get("set-cookie", "").split(";")[0] if response else ""
    resume = {"action": "resume", "runId": first["runId"], "lastSeq": first["seq"]}
    follow = websockets.connect(
        f"ws://127.0.0.1:{read}/ws", compression=None, additional_headers={"Cookie": cookie}
    )
    async with follow as ws:
        await ws.send(orjson.dumps(resume).decode())
        return 1 + await read_run(ws, lat)


async def measure(
    ports: list[int], clients: int, n: int, follow: bool, pause: float = 0.0
) -> dict[str, float]:
    lat: list[float] = []
    began = time.perf_counter()
    jobs = []
    for i in range(clients):
        start = ports[i % len(ports)]
        read = ports[(i + 1) % len(ports)] if follow else start
        jobs.append(one_client(start, read, n, pause, lat))
    events = sum(await asyncio.gather(*jobs))
    wall = time.perf_counter() - began
    lat.sort()
    return {
        "events_per_s": events / wall,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
    }


async def main(clients: int, n: int, counts: list[int], pause: float) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pace = f"{pause * 1000:g} ms between events" if pause else "as fast as the nodes go"
    print(f"\n### {clients} clients x {n} events, runs {pace}\n")
    print("| nodes | mode | events/s | p50 latency (ms) | p99 latency (ms) |")
    print("|---|---|---|---|---|")
    with redis_server() as url:
        for count in counts:
            with nodes(url, count) as ports:
                await measure(ports, min(clients, 20), 10, False)  # warm up
                for follow in (False, True) if count > 1 else (False,):
                    row = await measure(ports, clients, n, follow, pause)
                    mode = "follow (other node)" if follow else "direct"
                    print(
                        f"| {count} | {mode} | {row['events_per_s']:,.0f} | "
                        f"{row['p50_ms']:,.1f} | {row['p99_ms']:,.1f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between a run's events")
    args = parser.parse_args()
    clients, events = (30, 20) if args.quick else (args.clients, args.events)
    asyncio.run(main(clients, events, [1, 2] if args.quick else [1, 2, 3], args.pause))
