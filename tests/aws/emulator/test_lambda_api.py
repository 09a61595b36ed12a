"""The Lambda Invoke API: handlers hand work to other functions; tools call functions directly."""

from __future__ import annotations

import asyncio
import json

import boto3
import pytest

from agentstream.aws.emulator.server import Emulator
from tests.aws.emulator.conftest import connect


def _lambda(emu: Emulator) -> object:
    return boto3.client(
        "lambda",
        endpoint_url=emu.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


async def test_handler_invokes_another_function_asynchronously(emulator: Emulator) -> None:
    """InvocationType=Event from a handler runs the other function, which posts to the client."""
    async with connect(f"{emulator.url('prod')}?token=allow") as ws:
        await ws.send(json.dumps({"action": "dispatch"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30)) == {"type": "finished"}


async def test_request_response_returns_the_result_or_the_function_error(
    emulator: Emulator,
) -> None:
    """RequestResponse gives the result; a raising handler gives FunctionError Unhandled."""
    client = _lambda(emulator)
    event = {"body": json.dumps({"message": "direct"}), "requestContext": {}}
    ok = await asyncio.to_thread(
        lambda: client.invoke(FunctionName="chat-EchoFunction", Payload=json.dumps(event))
    )
    assert json.loads(json.loads(ok["Payload"].read())["body"]) == {
        "type": "echoed",
        "message": "direct",
    }
    arn = "arn:aws:lambda:us-east-1:123456789012:function:chat-BoomFunction"
    failed = await asyncio.to_thread(lambda: client.invoke(FunctionName=arn, Payload=b"{}"))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


async def test_unknown_function_raises_resource_not_found(emulator: Emulator) -> None:
    """A name the template does not have is ResourceNotFoundException, as boto3 raises it."""
    client = _lambda(emulator)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        await asyncio.to_thread(lambda: client.invoke(FunctionName="nope", Payload=b"{}"))
