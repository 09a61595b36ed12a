"""A cluster on one machine: our own redis-server and N ``agentstream serve`` processes on it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port

SRC = Path(__file__).resolve().parents[2] / "src"
LEASE_S = 1.5


@dataclass
class Node:
    """One gateway process of the cluster."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?dialect=agentstream"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """``kill -9``: no shutdown, no goodbye to Redis."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@dataclass
class Cluster:
    """The nodes and the Redis URL they share."""

    store: str
    nodes: list[Node] = field(default_factory=list)


def start_node(store: str, log: Path, *, delay: float, extra_env: dict[str, str]) -> Node:
    """Start ``agentstream serve calledit --model scripted --store STORE`` on a free port."""
    port = free_port()
    code = "from agentstream.cli import main; main()"
    cmd = [sys.executable, "-c", code, "serve", "calledit", "--model", "scripted"]
    cmd += ["--store", store, "--port", str(port), "--log-level", "warning"]
    env = os.environ | {"PYTHONPATH": str(SRC), "AGENTSTREAM_SCRIPTED_DELAY": str(delay)}
    proc = subprocess.Popen(
        cmd, env=env | extra_env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    return Node(port, proc)


def wait_ready(node: Node, timeout_s: float = 60.0) -> None:
    """Poll ``/healthz`` until the node answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise RuntimeError(f"node on {node.port} exited with {node.proc.returncode}")
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(f"{node.http}/healthz", timeout=1):
                return
        time.sleep(0.1)
    raise RuntimeError(f"node on {node.port} did not answer in {timeout_s}s")


@contextlib.contextmanager
def running_cluster(
    redis_url: str, log: Path, n: int, *, delay: float = 0.0, **extra_env: str
) -> Iterator[Cluster]:
    """N nodes on one Redis (a fresh prefix, a short lease); each stopped by its pid after."""
    store = f"{redis_url}?prefix=k{uuid.uuid4().hex[:8]}:&lease={LEASE_S}"
    cluster = Cluster(store)
    try:
        for _ in range(n):
            cluster.nodes.append(start_node(store, log, delay=delay, extra_env=extra_env))
        for node in cluster.nodes:
            wait_ready(node)
        yield cluster
    finally:
        for node in cluster.nodes:
            if node.proc.poll() is None:
                node.proc.terminate()
        for node in cluster.nodes:
            try:
                node.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.kill()


@pytest.fixture(scope="module")
def three_nodes(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three CalledIt nodes (scripted model, 20 ms per delta) on one Redis, for a module."""
    log = tmp_path_factory.mktemp("nodes") / "nodes.log"
    with running_cluster(redis_server, log, 3, delay=0.02) as cluster:
        yield cluster


@pytest.fixture
def two_nodes(redis_server: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two nodes of a cluster for one test (which may kill one)."""
    with running_cluster(redis_server, tmp_path / "nodes.log", 2, delay=0.03) as cluster:
        yield cluster
