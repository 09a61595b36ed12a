"""Fixtures for the store tests: moto and redis-server on free ports, a fake clock, opened stores.

``AGENTSTREAM_TEST_DYNAMODB=http://127.0.0.1:8765`` points the DynamoDB runs at another server
(DynamoDB Local, for instance) instead of starting moto.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agentstream.stores import Store, open_store

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class FakeClock:
    """An epoch-seconds clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def free_port() -> int:
    """A TCP port nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"moto server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"moto server not answering on {url} after {timeout_s}s")


@contextlib.contextmanager
def running_moto() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start a moto server subprocess on a free port; stop it (by its pid) on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # DynamoDB requests one at a time: moto's transactions are not atomic under concurrency.
    serial = Path(__file__).with_name("moto_serial.py")
    cmd = [sys.executable, str(serial), "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        cmd, env=os.environ | AWS_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_up(url, proc)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint of a moto server subprocess shared by the session."""
    external = os.environ.get("AGENTSTREAM_TEST_DYNAMODB")
    if external:
        yield external
        return
    with running_moto() as (_, url):
        yield url


@pytest.fixture
def own_moto() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A moto server for one test, which the test may kill."""
    with running_moto() as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials so boto3 signs requests to the local server."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


def store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL of ``kind``: a new SQLite file, or a new DynamoDB table or Redis prefix."""
    if kind == "sqlite":
        return f"sqlite://{tmp_path / 'store.db'}"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_server')}?prefix=t{uuid.uuid4().hex[:10]}:"
    endpoint = request.getfixturevalue("moto_server")
    request.getfixturevalue("aws_env")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    return f"dynamodb://?endpoint={endpoint}&prefix={prefix}&region=us-east-1&create=1"


@pytest.fixture(params=["sqlite", "dynamodb", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Store]:
    """An opened store of each backend, on a fresh file or table prefix, with a fake clock."""
    async with open_store(store_url(request.param, request, tmp_path), clock=clock) as opened:
        yield opened
