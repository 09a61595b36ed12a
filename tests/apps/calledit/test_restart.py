"""Logged calls outlive the server process: a real `agentstream serve`, started twice."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import websockets

from tests.conftest import free_port, recv_json, recv_run
from tests.identities import as_user

AGENTSTREAM = str(Path(sys.executable).parent / "agentstream")
PROMPT = "The S&P 500 will reach 6000 points by March 2025"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"server not healthy after 60s:\n{log.read_text()}")


@contextlib.contextmanager
def agentstream_serve(db: Path, log: Path) -> Iterator[str]:
    """`agentstream serve calledit --model scripted --store sqlite://DB` until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AGENTSTREAM_STORE"}
    env["AGENTSTREAM_NOW"] = "2025-01-15T10:00:00"
    cmd = [
        AGENTSTREAM,
        "serve",
        "calledit",
        "--model",
        "scripted",
        "--store",
        f"sqlite://{db}",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_a_logged_call_survives_a_server_restart(tmp_path: Path) -> None:
    """makecall → logcall → GET /api/calls lists it; after a restart it is still there, once,
    for the same identity cookie (the signing secret is kept next to the database)."""
    db, log = tmp_path / "x.db", tmp_path / "server.log"
    with agentstream_serve(db, log) as host:
        # The cookie is signed with the secret.key kept by the database: it outlives the server.
        zoe = as_user(f"http://{host}", "zoe")
        async with websockets.connect(f"ws://{host}/ws", additional_headers=zoe) as ws:
            await ws.send(
                json.dumps({"action": "makecall", "prompt": PROMPT, "timezone": "America/New_York"})
            )
            run_id = (await recv_run(ws))[-1]["runId"]
            await ws.send(json.dumps({"action": "logcall", "runId": run_id, "requestId": "r1"}))
            logged = await recv_json(ws)
        before = httpx.get(f"http://{host}/api/calls", headers=zoe).json()
    call = logged["call"]
    assert logged["type"] == "logcall_result" and logged["created"] is True
    assert call["record"]["verification_date"] == "2025-03-31"
    assert before == {"calls": [call], "next": None}

    with agentstream_serve(db, log) as host:
        after = httpx.get(f"http://{host}/api/calls", headers=zoe).json()
        one = httpx.get(f"http://{host}/api/calls/{call['call_id']}", headers=zoe)
        async with websockets.connect(f"ws://{host}/ws", additional_headers=zoe) as ws:
            await ws.send(json.dumps({"action": "logcall", "runId": run_id}))
            again = await recv_json(ws)
        listed = httpx.get(f"http://{host}/api/calls", headers=zoe).json()
    assert after == {"calls": [call], "next": None}
    assert one.json() == {"call": call}
    # The run is gone from memory; its recorded RunFinished still identifies the same call.
    assert again["type"] == "logcall_result" and again["created"] is False
    assert again["call"] == call and listed["calls"] == [call]
