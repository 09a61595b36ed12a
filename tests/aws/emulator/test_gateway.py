"""API Gateway's WebSocket behaviour, over a real client, real handlers and real boto3."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import frame, table


def url(emu: Emulator, query: str = "token=allow") -> str:
    return f"{emu.url('prod')}?{query}"


async def test_sendmessage_posts_back_through_connections(emulator: Emulator) -> None:
    """A handler's own boto3 client (https://{domainName}/{stage}) reaches the client."""
    async with connect(url(emulator)) as ws:
        await ws.send(json.dumps({"action": "sendmessage", "message": "hi"}))
        reply = frame(await asyncio.wait_for(ws.recv(), 20))
    assert reply["type"] == "echo" and reply["message"] == "hi"
    assert reply["identity"]["SourceIp"] == "127.0.0.1"
    ctx = reply["event"]["requestContext"]
    assert ctx["routeKey"] == "sendmessage" and ctx["eventType"] == "MESSAGE"
    assert ctx["authorizer"]["userId"] == "u-allow" and ctx["authorizer"]["principalId"] == "user-allow"
    assert reply["context"]["function_name"] == "chat-SendMessageFunction"
    assert 0 < reply["context"]["remaining_ms"] <= 10_000
