"""Bedrock Runtime served by agentstream's models: boto3 and unchanged handlers stream from it."""

from __future__ import annotations

import asyncio
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError

from agentstream.aws.emulator.bedrock import (
    BedrockService,
    Fault,
    anthropic_events,
    converse_args,
    tool_choice,
)
from agentstream.aws.emulator.server import Emulator, Options
from agentstream.aws.emulator.template import load_stack
from agentstream.models import create_model
from tests.aws.emulator.conftest import CHAT, SCRIPT, connect

TEXT = SCRIPT[0][0]["text"]


def _client(emu: Emulator) -> object:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=emu.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


async def _frames(ws: object, until: str) -> list[dict]:
    frames = []
    while True:
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))  # type: ignore[attr-defined]
        if frames[-1].get("type") in (until, "error"):
            return frames


def test_converse_request_maps_to_model_arguments() -> None:
    """System blocks join into the system prompt; toolSpecs become Strands tool specs."""
    body = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "a"}, {"text": "b"}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]},
    }
    messages, tools, system = converse_args(body)
    assert messages == body["messages"] and system == "a\nb"
    assert tools == [{"name": "t", "inputSchema": {"json": {}}}]


def test_anthropic_events_for_a_text_delta() -> None:
    """A Converse text delta becomes an Anthropic content_block_delta with a text_delta."""
    event = {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}}
    assert anthropic_events(event, "m") == [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
    ]


async def test_converse_stream_and_converse_through_boto3(emulator: Emulator) -> None:
    """boto3's converse_stream parses our event stream; converse returns the whole message."""
    client = _client(emulator)
    request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}

    def stream() -> str:
        events = client.converse_stream(**request)["stream"]  # type: ignore[attr-defined]
        return "".join(
            e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
        )

    assert await asyncio.to_thread(stream) == TEXT
    whole = await asyncio.to_thread(lambda: client.converse(**request))  # type: ignore[attr-defined]
    assert whole["output"]["message"]["content"] == [{"text": TEXT}]
    assert whole["stopReason"] == "end_turn"


async def test_injected_throttling_raises_in_boto3(emulator: Emulator) -> None:
    """An injected fault: ThrottlingException before the stream, EventStreamError during it."""
    client = _client(emulator)
    request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    emulator.bedrock.fail_next()
    with pytest.raises(client.exceptions.ThrottlingException):  # type: ignore[attr-defined]
        await asyncio.to_thread(lambda: client.converse_stream(**request))  # type: ignore[attr-defined]
    emulator.bedrock.fail_next(Fault(mid_stream=True))

    def drain() -> None:
        for _ in client.converse_stream(**request)["stream"]:  # type: ignore[attr-defined]
            pass

    with pytest.raises(EventStreamError) as info:
        await asyncio.to_thread(drain)
    assert info.value.response["Error"]["Code"] == "throttlingException"


async def test_unchanged_strands_agent_handler_streams_tokens(emulator: Emulator) -> None:
    """A Strands Agent() on the default BedrockModel streams the scripted text to the client."""
    async with connect(f"{emulator.url('prod')}?token=allow") as ws:
        await ws.send(json.dumps({"action": "agent", "prompt": "Say hello"}))
        frames = await _frames(ws, "complete")
    texts = [f["content"] for f in frames if f["type"] == "text"]
    assert len(texts) > 1 and "".join(texts) == TEXT
    assert frames[-1]["type"] == "complete" and TEXT in frames[-1]["content"]
    assert emulator.bedrock.requests[-1]["operation"] == "converse-stream"


async def test_invoke_model_with_response_stream_in_anthropic_format(emulator: Emulator) -> None:
    """A handler calling invoke_model_with_response_stream gets Anthropic chunks, in order."""
    async with connect(f"{emulator.url('prod')}?token=allow") as ws:
        await ws.send(json.dumps({"action": "claude", "prompt": "Say hello"}))
        frames = await _frames(ws, "done")
    assert "".join(f["content"] for f in frames if f["type"] == "stream_chunk") == TEXT
    sent = emulator.bedrock.requests[-1]
    assert sent["operation"] == "invoke-with-response-stream"
    assert sent["body"]["anthropic_version"] == "bedrock-2023-05-31"


@pytest.mark.slow
async def test_unchanged_strands_agent_streams_from_gemma() -> None:
    """The same unchanged Strands handler streams tokens from the real embedded gemma model."""
    real = Emulator(load_stack(CHAT), Options(model="gemma"))
    await real.start()
    try:
        async with connect(f"{real.url('prod')}?token=allow") as ws:
            await ws.send(json.dumps({"action": "agent", "prompt": "Say hello in three words."}))
            frames = await _frames(ws, "complete")
    finally:
        await real.stop()
    assert len([f for f in frames if f.get("type") == "text"]) > 1
    # A slow machine's run outlives API Gateway's 29 s integration timeout: the client then gets
    # its {"message": "Endpoint request timed out"} and the Lambda goes on streaming, as on AWS.
    assert all("type" in f or f.get("message") == "Endpoint request timed out" for f in frames)
    # gemma 270M may ramble to the local model's token limit; Strands then raises, as on Bedrock
    assert frames[-1]["type"] == "complete" or "maximum token limit" in frames[-1]["message"]


async def test_model_failure_becomes_bedrock_errors() -> None:
    """A failing model: InternalServerException before a stream, an exception event inside one."""
    bedrock = BedrockService(create_model("scripted", scripted=[[{"error": "engine down"}]]))
    emu = Emulator(load_stack(CHAT), Options(bedrock=bedrock))
    await emu.start()
    client = _client(emu)
    request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}

    def drain() -> None:
        for _ in client.converse_stream(**request)["stream"]:  # type: ignore[attr-defined]
            pass

    try:
        with pytest.raises(client.exceptions.InternalServerException):  # type: ignore[attr-defined]
            await asyncio.to_thread(lambda: client.converse(**request))  # type: ignore[attr-defined]
        with pytest.raises(EventStreamError) as info:
            await asyncio.to_thread(drain)
    finally:
        await emu.stop()
    assert info.value.response["Error"]["Code"] == "internalServerException"


def _tool_then_answer(messages: list, tool_specs: object, tool_choice: object) -> list:
    """Call current_time first; once its result is in the conversation, answer with it."""
    results = [
        block["toolResult"]
        for message in messages
        for block in message["content"]
        if "toolResult" in block
    ]
    if not results:
        return [{"tool": "current_time", "input": {}}]
    return [{"text": f"It is {results[-1]['content'][0]['text'][:4]}."}]


async def test_strands_agent_tool_use_round_trips_through_converse_stream() -> None:
    """Tool-use blocks reach Strands, it runs the tool, and the result goes back to the model."""
    bedrock = BedrockService(create_model("scripted", scripted=[_tool_then_answer]))
    emu = Emulator(load_stack(CHAT), Options(bedrock=bedrock))
    await emu.start()
    try:
        async with connect(f"{emu.url('prod')}?token=allow") as ws:
            await ws.send(json.dumps({"action": "toolagent", "prompt": "What year is it?"}))
            frames = await _frames(ws, "complete")
    finally:
        await emu.stop()
    assert {"type": "tool", "name": "current_time"} in frames
    year = frames[-1]["content"].strip()
    assert year.startswith("It is 20") and len(bedrock.requests) == 2
    sent = bedrock.requests[-1]["body"]
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "current_time"


RECORD_TOOL = {
    "toolSpec": {
        "name": "Record",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["day", "tags"],
            }
        },
    }
}


def test_tool_choice_is_read_from_the_tool_config() -> None:
    """The Converse toolChoice is passed on; a request without one has none."""
    forced = {"toolConfig": {"tools": [RECORD_TOOL], "toolChoice": {"tool": {"name": "Record"}}}}
    assert tool_choice(forced) == {"tool": {"name": "Record"}}
    assert tool_choice({"messages": []}) is None


async def test_scripted_service_answers_a_forced_tool_with_a_schema_valid_call() -> None:
    """``--model scripted``: a forced toolChoice gets a toolUse with a schema-valid input."""
    emu = Emulator(load_stack(CHAT), Options(bedrock=BedrockService.for_model("scripted")))
    await emu.start()
    client = _client(emu)
    request = {
        "modelId": "m",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "toolConfig": {"tools": [RECORD_TOOL], "toolChoice": {"tool": {"name": "Record"}}},
    }

    def stream() -> list[dict]:
        return list(client.converse_stream(**request)["stream"])  # type: ignore[attr-defined]

    try:
        events = await asyncio.to_thread(stream)
        whole = await asyncio.to_thread(lambda: client.converse(**request))  # type: ignore[attr-defined]
        free = {**request, "toolConfig": {"tools": [RECORD_TOOL]}}
        text = await asyncio.to_thread(lambda: client.converse(**free))  # type: ignore[attr-defined]
    finally:
        await emu.stop()
    starts = [
        e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e
    ]
    assert [s["name"] for s in starts] == ["Record"]
    (block,) = whole["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "Record" and whole["stopReason"] == "tool_use"
    assert len(block["toolUse"]["input"]["tags"]) == 1
    assert len(block["toolUse"]["input"]["day"]) == len("2026-01-01")
    assert "text" in text["output"]["message"]["content"][0]
