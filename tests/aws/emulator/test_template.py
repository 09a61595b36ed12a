"""A `cdk synth` CloudFormation template: asset folders, $default, nested selection, binary."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from agentstream.aws.emulator.intrinsics import TemplateError
from agentstream.aws.emulator.template import load_stack
from tests.aws.emulator.conftest import FIXTURES, connect, start

CDK = FIXTURES / "cdk" / "DefaultRouteStack.template.json"


async def test_cdk_template_default_route_and_binary_frames() -> None:
    """Text and binary frames reach $default (binary base64-encoded); a nested key picks `ping`."""
    emu = await start(CDK)
    try:
        async with connect(emu.url("dev")) as ws:
            await ws.send("plain text")
            text = json.loads(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(b"\x00\x01binary\xff")
            binary = json.loads(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(json.dumps({"kind": {"name": "ping"}}))
            ping = json.loads(await asyncio.wait_for(ws.recv(), 20))
    finally:
        await emu.stop()
    assert text == {
        "routeKey": "$default",
        "body": "plain text",
        "isBase64Encoded": False,
        "greeting": "hello-us-east-1",
    }
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\x01binary\xff"
    assert ping["routeKey"] == "ping"


def test_sam_stack_routes_functions_and_tables() -> None:
    """The SAM fixture: Globals env resolved, routes → functions, authorizer, two-way, tables."""
    stack = load_stack(FIXTURES / "chat" / "template.yaml")
    (api,) = stack.apis
    assert api.stages == ("prod",) and api.selection_expression == "$request.body.action"
    connect_route = api.routes["$connect"]
    assert connect_route.function == "ConnectFunction"
    assert connect_route.authorizer is not None
    assert connect_route.authorizer.identity_sources == ("route.request.querystring.token",)
    assert api.routes["echo"].two_way and not api.routes["sendmessage"].two_way
    send = stack.functions["SendMessageFunction"]
    assert send.environment == {
        "CONNECTIONS_TABLE": "chat-connections",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/chat-connections",
        "STAGE_LABEL": "chat-prod",
    }
    assert (send.timeout, send.memory_mb, send.handler) == (10.0, 256, "send.lambda_handler")
    assert stack.functions["SlowFunction"].timeout == 1.0
    assert {t.name for t in stack.tables} == {"chat-connections", "chat-NotesTable"}


def test_parameters_override_defaults() -> None:
    """A parameter value replaces the template default (the stage name here)."""
    stack = load_stack(FIXTURES / "chat" / "template.yaml", parameters={"StageName": "dev"})
    assert stack.apis[0].stages == ("dev",)


def test_integration_to_a_function_outside_the_template_is_an_error(tmp_path: Path) -> None:
    """An IntegrationUri naming no function of the template raises TemplateError."""
    template = json.loads(CDK.read_text())
    integration = template["Resources"]["DefaultIntegration"]["Properties"]
    integration["IntegrationUri"] = "arn:aws:lambda:us-east-1:1:function:elsewhere"
    (tmp_path / "t.json").write_text(json.dumps(template))
    with pytest.raises(TemplateError, match="elsewhere"):
        load_stack(tmp_path / "t.json")
