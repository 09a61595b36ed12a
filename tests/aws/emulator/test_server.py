"""One port serves WebSockets, @connections, Bedrock and the console; bad requests are refused."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect, start


async def test_unknown_path_is_404(emulator: Emulator) -> None:
    """A path that is none of the emulator's answers 404 and the port keeps serving."""
    async with httpx.AsyncClient() as http:
        missing = await http.get(f"{emulator.endpoint}/nothing/here")
        console = await http.get(f"{emulator.endpoint}/_emulator")
    assert missing.status_code == 404 and console.status_code == 200


async def test_malformed_request_is_400(emulator: Emulator) -> None:
    """Garbage on the socket gets a 400, not a crash."""
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_unknown_stage_refuses_the_upgrade_with_403(emulator: Emulator) -> None:
    """A stage the API does not have is refused before the upgrade."""
    with pytest.raises(InvalidStatus) as info:
        async with connect(emulator.url("nostage")):
            pass
    assert info.value.response.status_code == 403


async def test_stop_closes_live_connections_with_1001() -> None:
    """Stopping the emulator closes clients with 1001 Going away."""
    emu = await start()
    ws = await connect(f"{emu.url('prod')}?token=allow")
    await emu.stop()
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1001


async def test_tls_lets_hard_coded_https_clients_reach_the_management_api() -> None:
    """With tls, domainName is localhost:{port} and the handler's https client trusts our cert."""
    emu = await start(tls=True)
    tls_port = emu.tls_server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with connect(f"{emu.url('prod')}?token=allow") as ws:
            await ws.send(json.dumps({"action": "sendmessage", "message": "over tls"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
    finally:
        await emu.stop()
    assert reply["message"] == "over tls"
    assert reply["event"]["requestContext"]["domainName"] == f"localhost:{tls_port}"


async def test_malformed_handshake_is_refused_before_any_lambda_runs(emulator: Emulator) -> None:
    """An upgrade without Sec-WebSocket-Key gets 400 and invokes no authorizer or $connect."""
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    writer.write(
        b"GET /prod?token=allow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400")
    assert all(not pool.idle for pool in emulator.gateway.runtime.pools.values())  # type: ignore[union-attr]
