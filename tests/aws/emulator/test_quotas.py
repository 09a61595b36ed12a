"""Idle and maximum connection time close with 1001 "Going away" (configurable for tests)."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from agentstream.aws.emulator.connection import Limits
from tests.aws.emulator.conftest import connect, start


async def test_idle_connection_closes_1001() -> None:
    """No message for the idle timeout: API Gateway closes with 1001."""
    emu = await start(limits=Limits(idle_seconds=0.5))
    try:
        async with connect(f"{emu.url('prod')}?token=allow", ping_interval=None) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed:
                pass
        assert ws.close_code == 1001 and ws.close_reason == "Going away"
    finally:
        await emu.stop()


async def test_connection_past_its_maximum_time_closes_1001() -> None:
    """Even an active connection closes with 1001 at the maximum connection time."""
    emu = await start(limits=Limits(max_seconds=1.0))
    try:
        async with connect(f"{emu.url('prod')}?token=allow", ping_interval=None) as ws:
            try:
                for _ in range(40):
                    await ws.send('{"action":"none"}')
                    await asyncio.wait_for(ws.recv(), 10)
                    await asyncio.sleep(0.1)
            except ConnectionClosed:
                pass
        assert ws.close_code == 1001
    finally:
        await emu.stop()
