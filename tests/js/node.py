"""Run a Node script of tests/js against a live server and read the one JSON line it prints.

The packages are pinned in tests/js/package-lock.json and installed by ``make setup-test``
(``npm ci --prefix tests/js``); without Node or those packages the tests skip and say why.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("the JS client tests need Node 20+ on PATH")
    if not (JS / "node_modules" / "ai").is_dir():
        pytest.skip("the JS client tests need `npm ci --prefix tests/js` (make setup-test)")
    return node


def run_node(script: str, *args: str, timeout: float = 60) -> Any:
    """Run ``tests/js/<script>`` with ``args``; its last stdout line, parsed as JSON."""
    done = subprocess.run(
        [_node(), str(JS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=JS,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


async def arun_node(script: str, *args: str, timeout: float = 60) -> Any:
    """:func:`run_node` off the event loop (the live server may share the test's loop)."""
    return await asyncio.to_thread(run_node, script, *args, timeout=timeout)
