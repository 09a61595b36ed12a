"""Hostile frames against a live server: every frame is answered or the socket closes cleanly.

Hypothesis generates random JSON, wrong types for known actions, huge strings, deep nesting,
invalid UTF-8, binary frames and floods. After each frame a sentinel ping shows the socket is
still served (no hang) and that the frame got its own answer first; a socket may instead be
closed with a code the server sends on purpose. Afterwards a normal run still completes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from agentstream.gateway.settings import MAX_MESSAGE_BYTES, Settings
from tests.conftest import LiveServer, recv_run, serve
from tests.gateway.test_streams import counting_app, start
from tests.identities import as_user

# Normal, going away, policy (flood), invalid UTF-8 (uvicorn), too big, try again later.
CLEAN_CLOSES = {1000, 1001, 1007, 1008, 1009, 1013}
WAIT_S = 10.0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
known = st.sampled_from(["ping", "cancel", "resume", "count", "nope", ""])
commands = st.builds(
    lambda action, extra: json.dumps({"action": action, **extra}),
    known | json_values,
    st.dictionaries(
        st.sampled_from(["runId", "lastSeq", "requestId", "n", "pause", "size", "x"]),
        json_values,
        max_size=4,
    ),
)
nested = st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)
huge = st.sampled_from([MAX_MESSAGE_BYTES - 64, MAX_MESSAGE_BYTES + 1, 300_000]).map(
    lambda size: json.dumps({"action": "ping", "pad": "x" * size})
)
raw_text = st.text(max_size=200)
binary = st.binary(max_size=200)
invalid_utf8 = st.binary(min_size=1, max_size=50).map(lambda b: ("text", b + b"\xff\xfe"))
# Frames the socket survives, then at most one that may end it (too big, invalid UTF-8).
answerable = st.one_of(commands, json_values.map(json.dumps), nested, raw_text, binary)
closing = huge | invalid_utf8
batches = st.tuples(st.lists(answerable, min_size=5, max_size=30), st.lists(closing, max_size=1))


async def send(ws: Any, frame: Any) -> None:
    """Send one generated frame (a ("text", bytes) pair is a text frame of raw bytes)."""
    if isinstance(frame, tuple):
        await ws.send(frame[1], text=True)
    else:
        await ws.send(frame)


async def answered(ws: Any, frame: Any, index: int) -> bool:
    """Send ``frame`` then a sentinel ping; True when an answer came before the sentinel's pong.

    Returns False only when the server closed the socket with a clean code (then stop sending).
    """
    await send(ws, frame)
    sentinel = f"sentinel-{index}"
    await ws.send(json.dumps({"action": "ping", "requestId": sentinel}))
    seen = 0
    while True:
        try:
            reply = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in CLEAN_CLOSES, closed
            return False
        if reply.get("requestId") == sentinel and reply.get("type") == "pong":
            assert seen > 0, f"no answer to {frame!r:.200}"
            return True
        seen += 1


async def batch(live: LiveServer, batch_frames: list[Any]) -> None:
    """Send ``batch_frames`` on one socket; each is answered until a clean close."""
    async with websockets.connect(
        live.ws, additional_headers=as_user(live, "fuzz"), max_size=None
    ) as ws:
        for index, frame in enumerate(batch_frames):
            if not await answered(ws, frame, index):
                return


async def flood(live: LiveServer, count: int, frame: str) -> None:
    """``count`` frames at once: all answered (pong or rate_limited), or a 1008 close."""
    async with websockets.connect(
        live.ws, additional_headers=as_user(live, "flood"), max_size=None
    ) as ws:
        for _ in range(count):
            await ws.send(frame)
        replies = 0
        try:
            while replies < count:
                reply = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
                assert reply["type"] in ("pong", "RUN_ERROR"), reply
                replies += 1
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008


async def normal_run_works(live: LiveServer) -> None:
    """A scripted run on a fresh socket still reaches its end."""
    async with websockets.connect(live.ws, additional_headers=as_user(live, "after")) as ws:
        await ws.send(start(n=3, pause=0))
        assert (await recv_run(ws))[-1]["type"] == "RUN_FINISHED"


FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def rss_mib() -> float:
    """This process's resident memory now (the server runs in a thread of it)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def drained(live: LiveServer) -> bool:
    """True once the server holds no socket and no live run (waits up to WAIT_S)."""
    gateway = live.asgi.state.gateway
    deadline = time.monotonic() + WAIT_S
    while gateway.connections or gateway.runs.active():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_generated_frames_are_answered_or_closed_cleanly() -> None:
    """Over a thousand hostile frames: each answered or a clean close; no hang; runs still work.

    Memory stays bounded: afterwards the server holds no socket or live run, and a second pass of
    the same frames grows the process by less than keeping them would (300 batches, up to 300 KB).
    """
    config = Settings(model="scripted", frames_per_second=0, detach_grace_s=1)
    with serve(counting_app(), config) as live:

        @FUZZ
        @given(batches)
        def fuzz(frames: tuple[list[Any], list[Any]]) -> None:
            asyncio.run(batch(live, [*frames[0], *frames[1]]))

        fuzz()  # the first pass warms up: allocator arenas, hypothesis' caches, first uses
        assert drained(live)
        gc.collect()
        before = rss_mib()
        fuzz()  # the same frames again (derandomized): a server that kept them would grow
        assert drained(live)
        gc.collect()
        assert rss_mib() - before < 32
        asyncio.run(normal_run_works(live))


def test_floods_are_answered_or_closed_with_1008() -> None:
    """Bursts of up to 300 frames: every one answered (pong or rate_limited), or a 1008 close."""
    config = Settings(model="scripted", frames_per_second=20)
    with serve(counting_app(), config) as live:

        @settings(FUZZ, max_examples=15)
        @given(st.integers(1, 300), st.sampled_from(['{"action":"ping"}', "{", "[]", "null"]))
        def burst(count: int, frame: str) -> None:
            asyncio.run(flood(live, count, frame))

        burst()
        asyncio.run(normal_run_works(live))
