"""The wheel users install works: ``python -m build`` makes one carrying the pages and static
files, and an app served from it (installed in a fresh venv, not this checkout) streams a call."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import free_port, recv_run

ROOT = Path(__file__).resolve().parent.parent
MAKECALL = {"action": "makecall", "prompt": "It will rain in Paris tomorrow", "timezone": "UTC"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes from this checkout (through its sdist, so a stale
    ``build/`` folder in the checkout cannot slip files in)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "-o", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("agentstream-*.whl")
    return built


def test_the_wheel_carries_the_pages_and_static_files(wheel: Path) -> None:
    """Each app's page, the browser client and the shipped documents are in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for app in ("calledit", "titles", "strategy", "realestate"):
        assert f"agentstream/apps/{app}/static/index.html" in names
    assert "agentstream/web/static/agentstream.js" in names
    assert "agentstream/py.typed" in names
    assert any(n.startswith("agentstream/apps/realestate/docs/") for n in names)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (``--no-deps``); dependencies come from this
    interpreter's site-packages through a ``.pth`` line, so nothing is downloaded."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        env=_clean_env(env_dir),  # with PYTHONPATH on this checkout, pip would skip it
        check=True,
        capture_output=True,
        timeout=300,
    )
    # After the install, so pip does not see this checkout's install as "already there".
    # A plain path, not addsitedir: the editable install's import hook is not loaded.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _clean_env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTSTREAM_", "PYTHON"))}
    env.update(AGENTSTREAM_STORE=f"sqlite:///{cwd}/data.db", AGENTSTREAM_NOW="2025-01-15T10:00:00")
    return env


def test_the_installed_package_is_the_wheel_not_this_checkout(installed: Path) -> None:
    """``import agentstream`` in the venv loads the wheel's copy."""
    done = subprocess.run(
        [installed / "bin" / "python", "-c", "import agentstream; print(agentstream.__file__)"],
        cwd=installed,
        env=_clean_env(installed),
        check=True,
        capture_output=True,
        text=True,
    )
    assert done.stdout.startswith(str(installed)), done.stdout


@contextlib.contextmanager
def serving(installed: Path) -> Iterator[int]:
    """``agentstream serve calledit --model scripted`` from the venv's own script."""
    port = free_port()
    server = subprocess.Popen(
        [installed / "bin" / "agentstream", "serve", "calledit", "--model", "scripted"]
        + ["--port", str(port)],
        cwd=installed,
        env=_clean_env(installed),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"server exited: {server.stderr.read() if server.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("server did not answer /healthz")
        yield port
    finally:
        server.terminate()
        server.wait(20)


async def test_an_app_served_from_the_wheel_serves_its_page_and_streams(installed: Path) -> None:
    """GET / returns CalledIt's page and a scripted call streams gap-free over a WebSocket."""
    with serving(installed) as port:
        page = httpx.get(f"http://127.0.0.1:{port}/")
        script = httpx.get(f"http://127.0.0.1:{port}/static/agentstream.js")
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            await ws.send(json.dumps(MAKECALL))
            frames = await recv_run(ws)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert "calledit" in page.text.lower()
    assert script.status_code == 200
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "complete" and frames[-1]["content"]["prediction_statement"]
