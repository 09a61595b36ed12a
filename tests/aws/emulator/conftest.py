"""A running emulator of the fixture stack (tests/aws/fixtures/chat), with the scripted model."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import pytest
from websockets.asyncio.client import connect as _connect

from agentstream.aws.emulator.bedrock import BedrockService
from agentstream.aws.emulator.server import Emulator, Options
from agentstream.aws.emulator.template import load_stack
from agentstream.models import create_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHAT = FIXTURES / "chat" / "template.yaml"
SCRIPT = [[{"text": "Hello from the local Bedrock endpoint."}]]
# The upgrade waits for cold authorizer and $connect workers: generous on a loaded machine.
connect = functools.partial(_connect, open_timeout=60)


async def start(template: Path = CHAT, **options: object) -> Emulator:
    bedrock = BedrockService(create_model("scripted", scripted=SCRIPT))
    emulator = Emulator(load_stack(template), Options(bedrock=bedrock, **options))  # type: ignore[arg-type]
    await emulator.start()
    return emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await start()
    yield emu
    await emu.stop()


def management(emu: Emulator, stage: str = "prod") -> object:
    """A boto3 management client on the plain HTTP endpoint, as a tool outside the handlers."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{emu.endpoint}/{stage}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def table(emu: Emulator, name: str = "chat-connections") -> object:
    return boto3.resource(
        "dynamodb",
        endpoint_url=emu.dynamodb.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    ).Table(name)


def frame(raw: str | bytes) -> dict:
    return json.loads(raw)
