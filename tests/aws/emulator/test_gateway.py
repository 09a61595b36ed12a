"""API Gateway's WebSocket behaviour, over a real client, real handlers and real boto3."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentstream.aws.emulator.connection import Limits
from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect, frame, start, table


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
    assert (
        ctx["authorizer"]["userId"] == "u-allow"
        and ctx["authorizer"]["principalId"] == "user-allow"
    )
    assert ctx["authorizer"]["seats"] == "3"
    assert isinstance(ctx["authorizer"]["integrationLatency"], int)
    assert reply["context"]["function_name"] == "chat-SendMessageFunction"
    assert 0 < reply["context"]["remaining_ms"] <= 10_000


async def test_unknown_action_without_default_gets_forbidden_frame(emulator: Emulator) -> None:
    """No matching route and no $default: API Gateway's Forbidden frame, connection stays open."""
    async with connect(url(emulator)) as ws:
        await ws.send(json.dumps({"action": "nope"}))
        reply = frame(await asyncio.wait_for(ws.recv(), 10))
        assert reply["message"] == "Forbidden"
        assert set(reply) == {"message", "connectionId", "requestId"}
        await ws.send("not json at all")
        assert frame(await asyncio.wait_for(ws.recv(), 10))["message"] == "Forbidden"


async def test_handler_exception_sends_internal_server_error(emulator: Emulator) -> None:
    """A handler that raises: the client gets the Internal server error frame."""
    async with connect(url(emulator)) as ws:
        await ws.send(json.dumps({"action": "boom"}))
        reply = frame(await asyncio.wait_for(ws.recv(), 20))
    assert reply["message"] == "Internal server error" and reply["requestId"]


async def test_function_timeout_sends_internal_server_error(emulator: Emulator) -> None:
    """A handler past its template Timeout (1 s) is stopped: Internal server error."""
    async with connect(url(emulator)) as ws:
        await ws.send(json.dumps({"action": "slow"}))
        reply = frame(await asyncio.wait_for(ws.recv(), 20))
    assert reply["message"] == "Internal server error"


async def test_integration_timeout_answers_while_the_function_keeps_running() -> None:
    """Past the integration timeout the client hears so, and the handler still posts later."""
    emu = await start(limits=Limits(integration_timeout=1.0))
    try:
        async with connect(url(emu)) as ws:
            await ws.send(json.dumps({"action": "linger", "seconds": 2}))
            first = frame(await asyncio.wait_for(ws.recv(), 20))
            second = frame(await asyncio.wait_for(ws.recv(), 20))
    finally:
        await emu.stop()
    assert first["message"] == "Endpoint request timed out"
    assert second == {"type": "finished"}


async def test_two_way_route_sends_the_handler_body_back(emulator: Emulator) -> None:
    """A route with RouteResponseSelectionExpression returns the handler's body to the client."""
    async with connect(url(emulator)) as ws:
        await ws.send(json.dumps({"action": "echo", "message": "ping"}))
        reply = frame(await asyncio.wait_for(ws.recv(), 20))
    assert reply == {"type": "echoed", "message": "ping"}


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 401), ("token=deny", 403), ("token=boom", 401), ("token=allow&refuse=409", 409)],
    ids=["no-identity-401", "deny-403", "unauthorized-401", "connect-409"],
)
async def test_refused_connect_is_an_http_status_before_the_upgrade(
    emulator: Emulator, query: str, status: int
) -> None:
    """Missing identity → 401, Deny → 403, $connect non-2xx → that status; no WebSocket opens."""
    with pytest.raises(InvalidStatus) as info:
        async with connect(url(emulator, query)):
            pass
    assert info.value.response.status_code == status
    assert emulator.gateway.connections == {}  # type: ignore[union-attr]


async def test_connect_writes_a_row_with_ttl_and_disconnect_removes_it(emulator: Emulator) -> None:
    """$connect's DynamoDB row (with TTL) lands in the local table; $disconnect deletes it."""
    tbl = table(emulator)
    async with connect(url(emulator)) as ws:
        (cid,) = list(emulator.gateway.connections)  # type: ignore[union-attr]
        row = await asyncio.to_thread(lambda: tbl.get_item(Key={"connectionId": cid})["Item"])
        assert row["userId"] == "u-allow" and int(row["ttl"]) > 0
        await ws.close(4000, "bye")
    for _ in range(100):
        gone = await asyncio.to_thread(lambda: tbl.get_item(Key={"connectionId": "gone-" + cid}))
        if "Item" in gone:
            break
        await asyncio.sleep(0.1)
    event = json.loads(gone["Item"]["disconnectEvent"])
    assert event["requestContext"]["disconnectStatusCode"] == 4000
    assert event["requestContext"]["disconnectReason"] == "bye"
    left = await asyncio.to_thread(lambda: tbl.get_item(Key={"connectionId": cid}))
    assert "Item" not in left


async def test_frame_over_32_kb_closes_1009(emulator: Emulator) -> None:
    """One frame of 32 KB + 1 byte closes the connection with 1009."""
    async with connect(url(emulator), max_size=None) as ws:
        await ws.send("x" * (32 * 1024 + 1))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009


async def test_fragmented_message_under_128_kb_is_accepted(emulator: Emulator) -> None:
    """100 KB sent as 32 KB frames is one message; the reply comes back in ≤ 32 KB frames."""
    text = "y" * (100 * 1024)
    body = json.dumps({"action": "echo", "message": text})
    pieces = [body[i : i + 32 * 1024] for i in range(0, len(body), 32 * 1024)]
    async with connect(url(emulator), max_size=None) as ws:
        await ws.send(iter(pieces))
        reply = frame(await asyncio.wait_for(ws.recv(), 20))
    assert reply["message"] == text


async def test_message_over_128_kb_closes_1009(emulator: Emulator) -> None:
    """A message past 128 KB, even in small frames, closes the connection with 1009."""
    pieces = ["z" * (32 * 1024)] * 4 + ["z"]
    async with connect(url(emulator), max_size=None) as ws:
        await ws.send(iter(pieces))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009


async def test_message_of_exactly_128_kb_is_accepted(emulator: Emulator) -> None:
    """The 128 KB limit is inclusive: a message of exactly 131072 bytes is routed."""
    async with connect(url(emulator), max_size=None) as ws:
        await ws.send(iter(["a" * (32 * 1024)] * 4))
        reply = frame(await asyncio.wait_for(ws.recv(), 10))
    assert reply["message"] == "Forbidden"


async def test_verbose_logs_each_event_and_one_line_per_invocation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """--verbose logs the event sent; every invocation logs its duration and outcome."""
    emu = await start(verbose=True)
    try:
        with caplog.at_level("INFO", logger="agentstream.aws.emulator"):
            async with connect(url(emu)) as ws:
                await ws.send(json.dumps({"action": "echo", "message": "logged"}))
                await asyncio.wait_for(ws.recv(), 20)
    finally:
        await emu.stop()
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("event echo |") and "logged" in line for line in lines)
    assert any(line.startswith("invoke fn=EchoFunction echo") and "| ok" in line for line in lines)
