"""`agentstream emulate`: flags become options; --watch reloads changed handler code."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from agentstream.aws.emulator.command import options, watch
from tests.aws.emulator.conftest import FIXTURES, connect, start


def test_flags_become_options() -> None:
    """Idle and integration timeouts and the secret reach the emulator's options."""
    opts = options(
        host="127.0.0.1",
        port=9,
        model="scripted",
        dynamodb_endpoint=None,
        management_secret="s",
        verbose=True,
        idle_timeout=5,
        integration_timeout=3,
    )
    assert (opts.limits.idle_seconds, opts.limits.integration_timeout) == (5, 3)
    assert opts.management_secret == "s" and opts.model == "scripted" and opts.verbose


async def test_watch_reloads_changed_handler_code(tmp_path: Path) -> None:
    """After a handler file changes, the next message runs the new code."""
    shutil.copytree(FIXTURES / "cdk", tmp_path / "cdk")
    emu = await start(tmp_path / "cdk" / "DefaultRouteStack.template.json")
    watcher = asyncio.create_task(watch(emu, interval=0.1))
    try:
        async with connect(emu.url("dev")) as ws:
            await ws.send("one")
            before = json.loads(await asyncio.wait_for(ws.recv(), 20))
            index = tmp_path / "cdk" / "asset.5f1e2d3c" / "index.py"
            index.write_text(
                index.read_text().replace('"greeting": os.environ["GREETING"]', '"greeting": "v2"')
            )
            await asyncio.sleep(0.5)
            await ws.send("two")
            after = json.loads(await asyncio.wait_for(ws.recv(), 20))
    finally:
        watcher.cancel()
        await emu.stop()
    assert before["greeting"] == "hello-us-east-1" and after["greeting"] == "v2"
