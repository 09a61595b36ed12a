"""docs/tutorial.md works as written: its app is served by ``agentstream serve FILE:app`` in a
subprocess and its client streams the run over a real WebSocket. Every code block is run here."""

from __future__ import annotations

import ast
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.M | re.S)
AGENTSTREAM = str(Path(sys.executable).parent / "agentstream")


def blocks() -> list[tuple[str, str, str]]:
    """(language, title, code) of each fenced block in the tutorial, in order."""
    found = []
    for lang, info, code in BLOCK.findall(TUTORIAL.read_text()):
        title = re.search(r'title="([^"]+)"', info)
        found.append((lang, title.group(1) if title else "", code))
    return found


def test_the_tutorial_has_exactly_the_blocks_this_test_runs() -> None:
    """The page's blocks: app, serve command, client, emulate command (a new one needs a test)."""
    assert [(lang, title) for lang, title, _ in blocks()] == [
        ("python", "wordy.py"),
        ("bash", ""),
        ("python", "client.py"),
        ("bash", ""),
    ]


def test_the_tutorial_app_is_about_thirty_lines() -> None:
    """The app stays small: at most 40 non-blank lines, a tool and a structured result."""
    code = blocks()[0][2]
    assert len([line for line in code.splitlines() if line.strip()]) <= 40
    ast.parse(code)
    assert "@tool" in code and "output_model=" in code


@contextlib.contextmanager
def served(tmp_path: Path, model: str) -> Iterator[int]:
    """The tutorial's serve command, run in ``tmp_path`` on a free port with ``model``."""
    (_, _, app), (_, _, command), *_ = blocks()
    (tmp_path / "wordy.py").write_text(app)
    port = free_port()
    argv = shlex.split(command.replace("8000", str(port)).replace("scripted", model))
    assert argv[:3] == ["agentstream", "serve", "wordy.py:app"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
    env["AGENTSTREAM_STORE"] = f"sqlite:///{tmp_path}/data.db"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    server = subprocess.Popen(
        [AGENTSTREAM, *argv[1:]], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_healthy(server, port)
        yield port
    finally:
        server.terminate()
        server.wait(20)


def _wait_healthy(server: subprocess.Popen[str], port: int) -> None:
    _wait_ready(server, f"http://127.0.0.1:{port}/healthz")


def _wait_ready(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 120  # a real model loads its weights first
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {server.stderr.read() if server.stderr else ''}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"server did not answer {url}")


def run_client(tmp_path: Path, port: int, path: str = "/ws") -> list[str]:
    """The tutorial's client, run as a script against ``port`` and ``path``; its output lines."""
    client = blocks()[2][2].replace("8000/ws", f"{port}{path}")
    (tmp_path / "client.py").write_text(client)
    done = subprocess.run(
        [sys.executable, "client.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_tutorial_app_streams_with_the_scripted_model(tmp_path: Path) -> None:
    """Served from its file, the app streams the tool, the partial state and the result."""
    with served(tmp_path, "scripted") as port:
        lines = run_client(tmp_path, port)
    seqs = [int(line.split()[0]) for line in lines[:-1]]
    types = [line.split()[1] for line in lines[:-1]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert types.index("TOOL_CALL_CHUNK") < types.index("TOOL_CALL_RESULT")
    assert types.index("TOOL_CALL_RESULT") < types.index("STATE_SNAPSHOT")
    assert lines[-1] == "{'words': 6, 'title': 'The question'}"


@pytest.mark.slow
def test_the_tutorial_app_streams_with_gemma(tmp_path: Path) -> None:
    """With a real (small) model the same file serves and the run ends with a Summary."""
    with served(tmp_path, "gemma") as port:
        lines = run_client(tmp_path, port)
    types = [line.split()[1] for line in lines[:-1]]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    result = ast.literal_eval(lines[-1])
    assert isinstance(result["words"], int) and isinstance(result["title"], str)


@contextlib.contextmanager
def emulated(tmp_path: Path) -> Iterator[int]:
    """The tutorial's ``agentstream emulate`` command, run in ``tmp_path`` on a free port."""
    (_, _, app), _, _, (_, _, command) = blocks()
    (tmp_path / "wordy.py").write_text(app)
    port = free_port()
    argv = shlex.split(command.replace("3001", str(port)))
    assert argv[:3] == ["agentstream", "emulate", "wordy.py:app"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTSTREAM_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    server = subprocess.Popen(
        [AGENTSTREAM, *argv[1:]], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_ready(server, f"http://127.0.0.1:{port}/_emulator")
        yield port
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: the emulator stops its workers and moto
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def test_the_tutorial_app_streams_through_the_lambda_adapter_under_emulate(
    tmp_path: Path,
) -> None:
    """``agentstream emulate wordy.py:app``: the run streams over /prod via the Lambda adapter."""
    with emulated(tmp_path) as port:
        lines = run_client(tmp_path, port, "/prod")
    seqs = [int(line.split()[0]) for line in lines[:-1]]
    types = [line.split()[1] for line in lines[:-1]]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1  # merged chunks keep their last seq
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert "STATE_SNAPSHOT" in types
    assert ast.literal_eval(lines[-1]) == {"words": 0, "title": "title"}  # the schema's filler
