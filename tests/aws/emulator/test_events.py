"""Events match what API Gateway sends: validated by aws-lambda-powertools' models."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

from agentstream.aws.emulator import events as ev
from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect, table

ROUTES = {"$default", "sendmessage", "a", "[x, y]", "true", "3"}


def _info(**extra: object) -> ev.ConnectionInfo:
    return ev.ConnectionInfo(
        "abc=",
        "api1234567",
        "prod",
        "api1234567.execute-api.us-east-1.amazonaws.com",
        "127.0.0.1",
        "test-agent",
        1_700_000_000_000,
        headers={"Host": "x"},
        multi_headers={"Host": ["x"]},
        query={"t": ["1", "2"]},
        **extra,  # type: ignore[arg-type]
    )


def test_built_events_validate_against_powertools_models() -> None:
    """CONNECT, MESSAGE and DISCONNECT events pass the powertools models."""
    info = _info(authorizer={"principalId": "p", "userId": "u"})
    connect_event = ev.connect_event(info)
    APIGatewayWebSocketConnectEventModel.model_validate(connect_event)
    assert connect_event["queryStringParameters"] == {"t": "2"}
    assert connect_event["multiValueQueryStringParameters"] == {"t": ["1", "2"]}
    message = ev.message_event(info, "sendmessage", '{"action":"sendmessage"}')
    APIGatewayWebSocketMessageEventModel.model_validate(message)
    assert message["requestContext"]["authorizer"]["userId"] == "u"
    gone = ev.disconnect_event(info, 1001, "Going away")
    APIGatewayWebSocketDisconnectEventModel.model_validate(gone)
    assert "messageId" not in gone["requestContext"]


def test_binary_message_is_base64_encoded() -> None:
    """A binary frame arrives base64-encoded with isBase64Encoded true."""
    event = ev.message_event(_info(), "$default", b"\x00\xff")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"


@pytest.mark.parametrize(
    ("expression", "body", "route"),
    [
        ("$request.body.action", '{"action":"sendmessage"}', "sendmessage"),
        ("$request.body.action", '{"action":"unknown"}', "$default"),
        ("$request.body.action", "not json", "$default"),
        ("$request.body.action", b'{"action":"sendmessage"}', "$default"),
        ("$request.body.a.b", '{"a":{"b":"a"}}', "a"),
        ("${request.body.action}", '{"action":"a"}', "a"),
        ("$request.body.action", '{"action":["x","y"]}', "[x, y]"),
        ("$request.body.action", '{"action":true}', "true"),
        ("$request.body.action", '{"action":3}', "3"),
        ("$request.body.action", '{"action":"$connect"}', "$default"),
        ("$request.body.action", '["action"]', "$default"),
    ],
)
def test_route_selection(expression: str, body: str | bytes, route: str) -> None:
    """The expression's value picks the route, stringified as API Gateway does, else $default."""
    assert ev.select_route(expression, body, ROUTES) == route


def test_no_route_and_no_default_is_none() -> None:
    """Without $default an unmatched message has no route (the gateway answers Forbidden)."""
    assert ev.select_route("$request.body.action", '{"action":"x"}', {"sendmessage"}) is None


def test_error_frame_shape() -> None:
    """The error frame has exactly message, connectionId and requestId."""
    assert json.loads(ev.error_frame("Forbidden", "c=", "r")) == {
        "message": "Forbidden",
        "connectionId": "c=",
        "requestId": "r",
    }


async def test_events_the_handlers_received_validate(emulator: Emulator) -> None:
    """The events real handlers got ($connect, a message, $disconnect) pass powertools' models."""
    async with connect(f"{emulator.url('prod')}?token=allow&x=1", user_agent_header="ua/1") as ws:
        (cid,) = list(emulator.gateway.connections)  # type: ignore[union-attr]
        await ws.send(json.dumps({"action": "sendmessage", "message": "m"}))
        message_event = json.loads(await asyncio.wait_for(ws.recv(), 20))["event"]
        tbl = table(emulator)
        row = await asyncio.to_thread(lambda: tbl.get_item(Key={"connectionId": cid})["Item"])
    for _ in range(100):
        gone = await asyncio.to_thread(lambda: tbl.get_item(Key={"connectionId": "gone-" + cid}))
        if "Item" in gone:
            break
        await asyncio.sleep(0.1)
    connect_event = json.loads(row["connectEvent"])
    APIGatewayWebSocketConnectEventModel.model_validate(connect_event)
    assert connect_event["queryStringParameters"] == {"token": "allow", "x": "1"}
    assert connect_event["headers"]["User-Agent"] == "ua/1"
    assert connect_event["requestContext"]["identity"]["userAgent"] == "ua/1"
    APIGatewayWebSocketMessageEventModel.model_validate(message_event)
    assert message_event["requestContext"]["connectionId"] == cid
    APIGatewayWebSocketDisconnectEventModel.model_validate(
        json.loads(gone["Item"]["disconnectEvent"])
    )
