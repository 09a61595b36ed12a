"""``agentstream emulate TEMPLATE|APP``: run a template's WebSocket APIs until Ctrl-C.

An app spec instead of a template serves agentstream's own template with that app
(:mod:`~agentstream.aws.emulator.appspec`).

The CLI command in ``agentstream/cli.py`` only parses flags and calls :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from agentstream.aws.emulator.appspec import load_target
from agentstream.aws.emulator.connection import Limits
from agentstream.aws.emulator.server import Emulator, Options
from agentstream.aws.emulator.template import Stack

logger = logging.getLogger(__name__)


def _snapshot(stack: Stack) -> dict[str, float]:
    """Modification times of every Python file under each function's code folder."""
    times: dict[str, float] = {}
    for fn in stack.functions.values():
        for path in Path(fn.code_dir).rglob("*.py"):
            with contextlib.suppress(OSError):
                times[f"{fn.logical_id}:{path}"] = path.stat().st_mtime
    return times


async def watch(emulator: Emulator, interval: float = 1.0) -> None:
    """Reload a function's workers when its code changes (``--watch``)."""
    before = _snapshot(emulator.stack)
    while True:
        await asyncio.sleep(interval)
        now = _snapshot(emulator.stack)
        changed = {key.split(":", 1)[0] for key in now.keys() ^ before.keys()}
        changed |= {key.split(":", 1)[0] for key in now if before.get(key) != now[key]}
        before = now
        if emulator.gateway is not None:
            for logical_id in sorted(changed):
                logger.info("watch fn=%s | code changed: new invocations start fresh", logical_id)
                await emulator.gateway.runtime.reload(logical_id)


async def serve(emulator: Emulator, watch_code: bool) -> None:
    """Start ``emulator`` and keep it running until cancelled."""
    await emulator.start()
    watcher = asyncio.create_task(watch(emulator)) if watch_code else None
    try:
        await asyncio.Event().wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await emulator.stop()


def run(
    template: Path | str, options: Options, *, watch_code: bool = False, region: str = "us-east-1"
) -> None:
    """Load ``template`` (a template file or an app spec) and serve it until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    logging.getLogger("websockets").setLevel(logging.WARNING)  # our own lines say the same
    stack = load_target(template, region=os.environ.get("AWS_REGION", region))
    if not stack.apis:
        logger.warning("template has no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(Emulator(stack, options), watch_code))


def options(
    *,
    host: str,
    port: int,
    model: str,
    dynamodb_endpoint: str | None,
    management_secret: str | None,
    verbose: bool,
    idle_timeout: float,
    integration_timeout: float,
    tls: bool = False,
) -> Options:
    """The emulator's options from the CLI's flags."""
    limits = Limits(idle_seconds=idle_timeout, integration_timeout=integration_timeout)
    return Options(
        host=host,
        port=port,
        limits=limits,
        dynamodb_endpoint=dynamodb_endpoint,
        model=model,
        management_secret=management_secret or os.environ.get("AGENTSTREAM_EMULATOR_SECRET"),
        verbose=verbose,
        tls=tls,
    )
