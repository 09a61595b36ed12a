"""Messages to the client leave in frames of at most 32 KB; quotas default to AWS's."""

from __future__ import annotations

import asyncio

from agentstream.aws.emulator.connection import Limits
from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect, management


def test_default_limits_are_aws_quotas() -> None:
    """32 KB frames, 128 KB messages, 10 min idle, 2 h connections, 29 s integration timeout."""
    assert Limits() == Limits(32768, 131072, 600.0, 7200.0, 29.0)


async def test_large_post_reaches_the_client_in_frames_of_32_kb(emulator: Emulator) -> None:
    """A 100 KB post arrives whole at a client that refuses any frame over 32 KB."""
    client = management(emulator)
    async with connect(f"{emulator.url('prod')}?token=allow", max_size=(None, 32 * 1024)) as ws:
        (cid,) = list(emulator.gateway.connections)  # type: ignore[union-attr]
        data = "é" * (50 * 1024)  # multi-byte text split across frames
        await asyncio.to_thread(
            lambda: client.post_to_connection(ConnectionId=cid, Data=data.encode())
        )
        assert await asyncio.wait_for(ws.recv(), 10) == data


async def test_binary_post_stays_binary(emulator: Emulator) -> None:
    """Data that is not UTF-8 is sent as a binary message."""
    client = management(emulator)
    async with connect(f"{emulator.url('prod')}?token=allow") as ws:
        (cid,) = list(emulator.gateway.connections)  # type: ignore[union-attr]
        await asyncio.to_thread(
            lambda: client.post_to_connection(ConnectionId=cid, Data=b"\xff\x00")
        )
        assert await asyncio.wait_for(ws.recv(), 10) == b"\xff\x00"
