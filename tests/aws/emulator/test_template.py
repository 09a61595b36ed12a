"""A `cdk synth` CloudFormation template: asset folders, $default, nested selection, binary."""

from __future__ import annotations

import asyncio
import base64
import json

from websockets.asyncio.client import connect

from tests.aws.emulator.conftest import FIXTURES, start

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
