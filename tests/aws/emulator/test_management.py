"""The @connections API over plain HTTP with real boto3: send, get, delete, 410, 413, 403."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from agentstream.aws.emulator.management import SECRET_HEADER, peer_allowed
from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect, management, start


async def _open(emu: Emulator) -> tuple[object, str]:
    ws = await connect(f"{emu.url('prod')}?token=allow")
    (cid,) = list(emu.gateway.connections)  # type: ignore[union-attr]
    return ws, cid


async def test_post_get_and_delete_a_connection(emulator: Emulator) -> None:
    """POST reaches the client; GET tells identity and times; DELETE closes the socket."""
    client = management(emulator)
    ws, cid = await _open(emulator)
    await asyncio.to_thread(lambda: client.post_to_connection(ConnectionId=cid, Data=b'{"n":1}'))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"n": 1}
    info = await asyncio.to_thread(lambda: client.get_connection(ConnectionId=cid))
    assert info["Identity"] == {
        "SourceIp": "127.0.0.1",
        "UserAgent": ws.request.headers["User-Agent"],
    }
    assert info["LastActiveAt"] >= info["ConnectedAt"]
    await asyncio.to_thread(lambda: client.delete_connection(ConnectionId=cid))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)


async def test_post_after_close_raises_gone_exception(emulator: Emulator) -> None:
    """A closed connection answers 410, which boto3 raises as GoneException."""
    client = management(emulator)
    ws, cid = await _open(emulator)
    await ws.close()
    await asyncio.sleep(0.2)
    with pytest.raises(client.exceptions.GoneException):
        await asyncio.to_thread(lambda: client.post_to_connection(ConnectionId=cid, Data=b"x"))
    with pytest.raises(client.exceptions.GoneException):
        await asyncio.to_thread(lambda: client.get_connection(ConnectionId="unknown="))


async def test_post_over_128_kb_raises_payload_too_large(emulator: Emulator) -> None:
    """131073 bytes: 413 PayloadTooLargeException; 131072 bytes are delivered."""
    client = management(emulator)
    ws, cid = await _open(emulator)
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        await asyncio.to_thread(
            lambda: client.post_to_connection(ConnectionId=cid, Data=b"a" * (128 * 1024 + 1))
        )
    await asyncio.to_thread(
        lambda: client.post_to_connection(ConnectionId=cid, Data=b"b" * 128 * 1024)
    )
    assert len(await asyncio.wait_for(ws.recv(), 10)) == 128 * 1024
    await ws.close()


async def test_unknown_stage_raises_forbidden_exception(emulator: Emulator) -> None:
    """A stage the API does not have answers 403 ForbiddenException."""
    client = management(emulator, stage="nostage")
    with pytest.raises(client.exceptions.ForbiddenException):
        await asyncio.to_thread(lambda: client.post_to_connection(ConnectionId="abc=", Data=b"x"))


async def test_console_lists_live_connections(emulator: Emulator) -> None:
    """GET /_emulator shows the APIs and each live connection."""
    ws, cid = await _open(emulator)
    async with httpx.AsyncClient() as http:
        doc = (await http.get(f"{emulator.endpoint}/_emulator")).json()
    assert [c["connectionId"] for c in doc["connections"]] == [cid]
    assert "sendmessage" in doc["apis"][0]["routes"]
    warm = {f["logicalId"]: f["warm"] for f in doc["functions"]}
    assert warm["AuthorizerFunction"] == 1 and warm["ConnectFunction"] == 1  # kept warm
    await ws.close()


def test_non_loopback_peer_needs_the_shared_secret() -> None:
    """Loopback is allowed; another address only with the configured secret, never without one."""
    assert peer_allowed("127.0.0.1", {}, None)
    assert peer_allowed("::1", {}, None)
    assert not peer_allowed("10.0.0.5", {}, None)
    assert not peer_allowed("10.0.0.5", {SECRET_HEADER: ""}, None)
    assert not peer_allowed("10.0.0.5", {SECRET_HEADER: "wrong"}, "s3cret")
    assert peer_allowed("10.0.0.5", {SECRET_HEADER: "s3cret"}, "s3cret")


def _lan_address() -> str | None:
    """This machine's address on a non-loopback interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


async def test_management_refuses_a_non_loopback_peer_without_the_secret() -> None:
    """Over a LAN address: 403 without the secret header, 200 with it."""
    lan = _lan_address()
    if lan is None:
        pytest.skip("no non-loopback interface")
    emu = await start(host="0.0.0.0", management_secret="s3cret")  # noqa: S104 - the test needs a LAN peer
    try:
        async with httpx.AsyncClient() as http:
            refused = await http.get(f"http://{lan}:{emu.port}/_emulator")
            allowed = await http.get(
                f"http://{lan}:{emu.port}/_emulator", headers={SECRET_HEADER: "s3cret"}
            )
            posted = await http.post(
                f"http://{lan}:{emu.port}/prod/@connections/abc%3D", content=b"x"
            )
    finally:
        await emu.stop()
    assert (
        refused.status_code == 403 and refused.headers["x-amzn-ErrorType"] == "ForbiddenException"
    )
    assert allowed.status_code == 200
    assert posted.status_code == 403
