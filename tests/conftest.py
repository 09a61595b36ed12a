"""Shared fixtures: a real uvicorn server on a free port, and a WebSocket client helper."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from agentstream.gateway.app import create_app
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URLs and the ASGI app."""

    port: int
    asgi: Any

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@contextlib.contextmanager
def serve(app: AgentApp, settings: Settings) -> Iterator[LiveServer]:
    """Run ``app`` on uvicorn in a background thread until the block ends.

    Without an explicit store the server keeps its data in memory, never in the user's data dir.
    """
    if settings.store is None:
        settings.store = "sqlite://:memory:"
    with serve_asgi(create_app(app, settings)) as live:
        yield live


@contextlib.contextmanager
def serve_asgi(asgi: Any) -> Iterator[LiveServer]:
    """Run any ASGI app (lifespan on) on uvicorn in a background thread until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_per_message_deflate=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(port, asgi)
    finally:
        server.should_exit = True
        thread.join(10)


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """A ``redis-server`` of our own on a free port (never the machine's 6379); its URL.

    No persistence (no RDB, no AOF): a test server starts empty and leaves nothing behind. It is
    stopped by its own pid when the block ends.
    """
    port = free_port()
    cmd = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    cmd += ["--appendonly", "no", "--dir", str(workdir), "--protected-mode", "no"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server this test session started (tests isolate by key prefix)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def calledit_server() -> Iterator[LiveServer]:
    """CalledIt served with the scripted model."""
    from agentstream.apps import load_app

    with serve(load_app("calledit"), Settings(model="scripted", detach_grace_s=5)) as live:
        yield live


async def recv_json(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The next frame, parsed."""
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def recv_run(ws: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Frames until the run's terminal frame (``complete`` or ``error`` with a runId)."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = await recv_json(ws, timeout)
        frames.append(frame)
        if frame.get("type") in ("complete", "error") and frame.get("runId"):
            return frames
        if frame.get("type") in ("RUN_FINISHED", "RUN_ERROR") and frame.get("runId"):
            return frames
