"""When does substance reach the user? Five fixed requests per app over a real WebSocket.

    .venv/bin/python bench/timeline.py [--model local|gemma|scripted] [--apps calledit,titles]
        [--runs 5]

Each app is served in this process (real uvicorn, real socket, canonical ``agentstream`` dialect,
one shared engine) and asked its five requests one after another. Per request: time to the first
*content* frame (text, tool call or result, state; not status or progress), the longest gap
between content frames (the terminal frame ends the last gap, so silence before the result
counts), the first text (tool frames of planned tools can come first), the total, and the
engine's own prompt and generation speed over the request (tokens per second from llama.cpp's
timings). A warm-up request per app is not counted (it loads the model
and fills the prompt cache, as a server that is up already would have).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import websockets

from agentstream.apps import load_app
from agentstream.gateway.app import create_app
from agentstream.gateway.settings import Settings

CONTENT = {
    "TEXT_MESSAGE_CHUNK",
    "TOOL_CALL_CHUNK",
    "TOOL_CALL_RESULT",
    "STATE_SNAPSHOT",
    "STATE_DELTA",
}
TERMINAL = {"RUN_FINISHED", "RUN_ERROR"}

REQUESTS: dict[str, list[dict[str, Any]]] = {
    "calledit": [
        {"action": "makecall", "timezone": "America/New_York", "prompt": p}
        for p in (
            "The S&P 500 will close above 6000 points by March 2025",
            "It will snow in Boston tomorrow",
            "Taylor Swift will announce a new album before the end of the year",
            "The Lakers will win more than 50 games this season",
            "US unemployment will be below 4% in the June 2025 jobs report",
        )
    ],
    "titles": [
        {"action": "stream", "projectId": f"bench-{i}", "userInput": text}
        for i, text in enumerate(
            (
                "A blog post about growing tomatoes on a balcony",
                "A talk on making Python web servers stream AI answers",
                "A newsletter about saving money on groceries",
                "A short story about a lighthouse keeper and a storm",
                "A guide to planning a week-long trip to Japan",
            )
        )
    ],
    "strategy": [
        {"action": "chat", "conversationId": f"bench-{i}", "message": text}
        for i, text in enumerate(
            (
                "Buy SPY when its 50-day average crosses above the 200-day, sell on the reverse",
                "A low-risk bond ladder for the next five years",
                "Momentum strategy on the top 10 Nasdaq stocks, rebalanced monthly",
                "Sell covered calls on my Apple shares",
                "Dollar-cost average 500 dollars a month into a world index fund",
            )
        )
    ],
    "realestate": [
        {"action": "invoke", "question": q, "query_type": t}
        for q, t in (
            ("What is the rear setback for a house in a residential zone?", "zoning"),
            ("How many exits does a restaurant need?", "building_codes"),
            ("What is the monthly payment on 400000 at 6.5% over 30 years?", "general"),
            ("Can I run a shop in a commercial zone next to houses?", "zoning"),
            ("Do I need a permit to build a deck?", "building_codes"),
        )
    ],
}


@dataclass
class Timeline:
    """One request as the client saw it."""

    first_content: float | None = None
    first_text: float | None = None
    longest_gap: float = 0.0
    total: float = 0.0
    ok: bool = False
    frames: int = 0
    prompt_tps: float | None = None
    generation_tps: float | None = None
    kinds: list[str] = field(default_factory=list)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(app_name: str, model: str) -> Iterator[str]:
    """Serve ``app_name`` on a free port in a thread; yield its WebSocket URL."""
    asgi = create_app(load_app(app_name), Settings(model=model, store="sqlite://:memory:"))
    port = free_port()
    config = uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/ws?dialect=agentstream"
    finally:
        server.should_exit = True
        thread.join(10)


def engine_totals(model: str) -> Any:
    """The shared engine's totals, or None for models without one."""
    from agentstream.models import LOCAL_ALIASES

    if model not in LOCAL_ALIASES:
        return None
    from agentstream.models.local import LocalModel

    return LocalModel(LOCAL_ALIASES[model]).engine.totals


async def one_request(url: str, request: dict[str, Any], timeout: float) -> Timeline:
    """Send ``request``; time its frames until the run ends."""
    timeline = Timeline()
    async with websockets.connect(url, max_size=None) as ws:
        started = time.monotonic()
        await ws.send(json.dumps(request))
        last_content: float | None = None
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            now = time.monotonic() - started
            kind = frame.get("type", "")
            timeline.frames += 1
            if kind in CONTENT or kind in TERMINAL:
                if last_content is not None:
                    timeline.longest_gap = max(timeline.longest_gap, now - last_content)
                last_content = now
            if kind == "TEXT_MESSAGE_CHUNK" and timeline.first_text is None:
                timeline.first_text = now
            if kind in CONTENT:
                timeline.kinds.append(kind)
                if timeline.first_content is None:
                    timeline.first_content = now
            if kind in TERMINAL and frame.get("runId"):
                timeline.total, timeline.ok = now, kind == "RUN_FINISHED"
                return timeline


async def measure(url: str, request: dict[str, Any], model: str, timeout: float) -> Timeline:
    """One request, with the engine's speeds over it."""
    totals = engine_totals(model)
    before = (
        (totals.prompt_tokens, totals.prompt_ms, totals.generated_tokens, totals.generation_ms)
        if totals
        else None
    )
    timeline = await one_request(url, request, timeout)
    if totals is not None and before is not None:
        p_n, p_ms = totals.prompt_tokens - before[0], totals.prompt_ms - before[1]
        g_n, g_ms = totals.generated_tokens - before[2], totals.generation_ms - before[3]
        timeline.prompt_tps = p_n / p_ms * 1000 if p_ms > 0 else None
        timeline.generation_tps = g_n / g_ms * 1000 if g_ms > 0 else None
    return timeline


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(app: str, rows: list[tuple[str, Timeline]]) -> str:
    """A markdown table for one app, with a median row."""
    lines = [
        f"#### {app}",
        "",
        "| request | first content s | first text s | longest gap s | total s | prompt tok/s "
        "| gen tok/s | ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, t in rows:
        lines.append(
            f"| {label[:48]} | {_fmt(t.first_content)} | {_fmt(t.first_text)} | "
            f"{_fmt(t.longest_gap)} | "
            f"{_fmt(t.total)} | {_fmt(t.prompt_tps, 0)} | {_fmt(t.generation_tps, 0)} | "
            f"{'yes' if t.ok else 'NO'} |"
        )
    timelines = [t for _, t in rows]
    firsts = [t.first_content for t in timelines if t.first_content is not None]
    texts = [t.first_text for t in timelines if t.first_text is not None]
    lines.append(
        f"| **median** | {_fmt(statistics.median(firsts) if firsts else None)} | "
        f"{_fmt(statistics.median(texts) if texts else None)} | "
        f"{_fmt(statistics.median(t.longest_gap for t in timelines))} | "
        f"{_fmt(statistics.median(t.total for t in timelines))} | | | |"
    )
    return "\n".join(lines)


def label_of(request: dict[str, Any]) -> str:
    """A short label for a request."""
    for key in ("prompt", "userInput", "message", "question"):
        if key in request:
            return str(request[key])
    return json.dumps(request)


async def bench_app(app: str, model: str, runs: int, timeout: float) -> str:
    """Serve ``app`` and time its requests; return its table."""
    requests = REQUESTS[app][:runs]
    with serve(app, model) as url:
        warm = {**requests[0]}
        for key in ("projectId", "conversationId"):
            if key in warm:
                warm[key] = "bench-warmup"
        await one_request(url, warm, timeout)
        rows = []
        for request in requests:
            timeline = await measure(url, request, model, timeout)
            rows.append((label_of(request), timeline))
            print(
                f"{app}: first={_fmt(timeline.first_content)} gap={_fmt(timeline.longest_gap)} "
                f"total={_fmt(timeline.total)} ok={timeline.ok} | {label_of(request)[:40]}",
                file=sys.stderr,  # progress; the tables on stdout are what run_all.py keeps
                flush=True,
            )
    return table(app, rows)


def main() -> None:
    """Parse arguments, run the benchmark, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--apps", default=",".join(REQUESTS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    tables = [
        asyncio.run(bench_app(app, args.model, args.runs, args.timeout))
        for app in args.apps.split(",")
    ]
    print(f"(`bench/timeline.py --model {args.model}`)", file=sys.stderr)
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
