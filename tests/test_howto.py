"""The how-to pages work as written: docs/howto/mount.md's service runs with its own command
and streams the tutorial's app under the prefix; docs/howto/dialect.md's dialect renders a run."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from agentstream import Settings, create_app
from agentstream.apps import load_app
from agentstream.protocol import dialects
from tests.conftest import free_port, recv_run, serve_asgi
from tests.test_tutorial import BLOCK

ROOT = Path(__file__).resolve().parent.parent
HOWTO = ROOT / "docs" / "howto"
ASK = {"action": "summarize", "text": "to be or not to be"}


def blocks(page: str) -> list[tuple[str, str, str]]:
    """(language, title, code) of each fenced block of ``docs/howto/<page>``."""
    found = []
    for lang, info, code in BLOCK.findall((HOWTO / page).read_text()):
        title = info.split('title="', 1)[1].split('"', 1)[0] if 'title="' in info else ""
        found.append((lang, title, code))
    return found


def tutorial_app() -> str:
    """The tutorial's ``wordy.py``."""
    return BLOCK.findall((ROOT / "docs" / "tutorial.md").read_text())[0][2]


def test_the_pages_have_exactly_the_blocks_these_tests_run() -> None:
    """mount.md has the service and its command; dialect.md has the dialect module."""
    assert [(lang, title) for lang, title, _ in blocks("mount.md")] == [
        ("python", "service.py"),
        ("bash", ""),
    ]
    assert [(lang, title) for lang, title, _ in blocks("dialect.md")] == [("python", "chatty.py")]


@contextlib.contextmanager
def service(tmp_path: Path) -> Iterator[int]:
    """mount.md's service, started by its own command in ``tmp_path`` on a free port."""
    (_, _, code), (_, _, command) = blocks("mount.md")
    (tmp_path / "wordy.py").write_text(tutorial_app())
    (tmp_path / "service.py").write_text(code)
    port = free_port()
    argv = shlex.split(command.replace("8000", str(port)))
    assert argv[:2] == ["AGENTSTREAM_MODEL=scripted", "uvicorn"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
    env.update(AGENTSTREAM_MODEL="scripted", AGENTSTREAM_STORE=f"sqlite:///{tmp_path}/data.db")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    server = subprocess.Popen(
        [sys.executable, "-m", *argv[1:]], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_healthy(server, f"http://127.0.0.1:{port}/agent/healthz")
        yield port
    finally:
        server.terminate()
        server.wait(20)


def _wait_healthy(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"service exited: {server.stderr.read() if server.stderr else ''}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer")


async def test_the_mounted_tutorial_app_streams_under_the_prefix(tmp_path: Path) -> None:
    """Through /agent/ws the run streams gap-free to its result; /hello still answers."""
    with service(tmp_path) as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/agent/ws") as ws:
            await ws.send(json.dumps(ASK))
            frames = await recv_run(ws)
        hello = httpx.get(f"http://127.0.0.1:{port}/hello").json()
        health = httpx.get(f"http://127.0.0.1:{port}/agent/healthz").json()
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "RUN_FINISHED"
    assert frames[-1]["result"] == {"words": 6, "title": "The question"}
    assert hello == {"hello": "world"} and health["app"] == "wordy"


def _chatty(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run dialect.md's module, registering ``chatty`` in a registry this test owns."""
    monkeypatch.setattr(dialects, "_REGISTRY", dict(dialects._REGISTRY))
    (tmp_path / "chatty.py").write_text(blocks("dialect.md")[0][2])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "chatty", raising=False)
    __import__("chatty")


async def test_the_dialect_renders_a_real_run_one_frame_per_event(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """?dialect=chatty gives chatty frames with gap-free seq, ending with the result."""
    _chatty(monkeypatch, tmp_path)
    (tmp_path / "wordy.py").write_text(tutorial_app())
    app = create_app(
        load_app(f"{tmp_path}/wordy.py:app"), Settings(model="scripted", store="sqlite://:memory:")
    )
    with serve_asgi(app) as live:
        async with websockets.connect(f"ws://127.0.0.1:{live.port}/ws?dialect=chatty") as ws:
            await ws.send(json.dumps(ASK))
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["type"] not in ("done", "error"):
                frames.append(json.loads(await ws.recv()))
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[0]["type"] == "run_started"
    assert {"tool_call_chunk", "tool_call_result", "state_snapshot"} <= {f["type"] for f in frames}
    assert frames[-1] == {
        "type": "done",
        "result": {"words": 6, "title": "The question"},
        "runId": frames[0]["runId"],
        "seq": len(frames),
    }
