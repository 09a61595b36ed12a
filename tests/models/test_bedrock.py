"""Bedrock through ConverseStream against a local HTTP stub speaking AWS's event-stream encoding.

The stub answers ``POST /model/{id}/converse-stream`` with ``application/vnd.amazon.eventstream``
messages (encoded here: prelude, string headers, payload, CRCs; botocore decodes them), a
mid-stream ``throttlingException``, or an HTTP error with ``x-amzn-ErrorType``. boto3 reaches it
through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``; nothing reaches AWS.
"""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentstream.models import create_model
from agentstream.models.bedrock import (
    Bedrock,
    ModelAccessDenied,
    ModelError,
    ModelNotFound,
    ModelThrottled,
    ModelUnavailable,
    translate,
)
from agentstream.protocol.events import Event, RunError, TextMessageChunk
from agentstream.runs.run import Run
from tests.aws.mgmt_stub import free_port


def encode(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message (the encoding botocore.eventstream decodes)."""
    head = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(head) + len(payload) + 4, len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(kind: str, body: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": kind, ":content-type": "application/json"}
    return encode(headers, json.dumps(body).encode())


def answer(words: list[str]) -> list[bytes]:
    deltas = [
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in words
    ]
    usage = {"inputTokens": 3, "outputTokens": len(words), "totalTokens": 3 + len(words)}
    return [
        event("messageStart", {"role": "assistant"}),
        *deltas,
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}),
    ]


class BedrockStub:
    """The stub's behaviour (``mode``) and what it saw."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    async def converse_stream(self, request: Request) -> Response:
        self.requests.append(
            (request.path_params["model"], dict(request.headers), await request.json())
        )
        if self.mode == "denied":
            message = {"message": "You don't have access to the model with the specified model ID."}
            return JSONResponse(message, 403, headers={"x-amzn-ErrorType": "AccessDeniedException"})
        if self.mode == "unknown":
            message = {"message": "The provided model identifier is invalid."}
            return JSONResponse(message, 400, headers={"x-amzn-ErrorType": "ValidationException"})
        frames = answer(["Hel", "lo", " there"])
        if self.mode == "throttled":
            exception = {":message-type": "exception", ":exception-type": "throttlingException"}
            frames = frames[:2] + [encode(exception, b'{"message":"Too many requests"}')]

        async def body() -> AsyncIterator[bytes]:
            for frame in frames:
                yield frame
                await asyncio.sleep(0.01)

        return StreamingResponse(body(), media_type="application/vnd.amazon.eventstream")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockStub]:
    import threading
    import time

    import uvicorn

    state = BedrockStub()
    route = Route("/model/{model:path}/converse-stream", state.converse_stream, methods=["POST"])
    app = Starlette(routes=[route])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    for name, value in {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)


MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


async def texts(model: Bedrock) -> str:
    out = ""
    async for chunk in model.stream(MESSAGES):  # type: ignore[arg-type]
        delta = chunk.get("contentBlockDelta", {}).get("delta", {})
        out += delta.get("text", "")
    return out


async def test_converse_stream_text_arrives_through_the_named_model(stub: BedrockStub) -> None:
    """--model bedrock:ID streams the stub's deltas; the request names the model, SigV4-signed."""
    model = create_model("bedrock:test.model-v1:0")
    assert isinstance(model, Bedrock)
    assert await texts(model) == "Hello there"
    model_id, headers, body = stub.requests[0]
    assert model_id == "test.model-v1:0" and body["messages"][0]["content"] == [{"text": "hi"}]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256")


async def test_a_bedrock_api_key_is_sent_as_a_bearer_token(
    stub: BedrockStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_BEARER_TOKEN_BEDROCK: Authorization: Bearer <key>, no SigV4."""
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-123")
    assert await texts(create_model("bedrock:m")) == "Hello there"
    assert stub.requests[0][1]["authorization"] == "Bearer bedrock-api-key-123"


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        ("throttled", ModelThrottled, "model_throttled"),
        ("denied", ModelAccessDenied, "model_access_denied"),
        ("unknown", ModelNotFound, "model_not_found"),
    ],
)
async def test_bedrock_errors_become_agentstream_errors(
    stub: BedrockStub, mode: str, error: type[ModelError], code: str
) -> None:
    """A mid-stream throttle, a 403 and an invalid model id raise errors with their own codes."""
    stub.mode = mode
    with pytest.raises(error) as caught:
        await texts(create_model("bedrock:m"))
    assert caught.value.code == code and "m" in str(caught.value)


async def test_a_throttled_run_ends_with_a_clear_error_event(stub: BedrockStub) -> None:
    """A run streaming from a throttled Bedrock ends with RUN_ERROR code model_throttled."""
    stub.mode = "throttled"
    model = create_model("bedrock:m")

    async def produce(run: Run) -> AsyncIterator[Event]:
        async for chunk in model.stream(MESSAGES):
            text = chunk.get("contentBlockDelta", {}).get("delta", {}).get("text")
            if text:
                yield TextMessageChunk(delta=text)

    run = Run(owner="u")
    run.start(produce)
    await asyncio.wait_for(run.wait(), 30)
    last = run.log.after(0)[-1]
    assert isinstance(last, RunError) and last.code == "model_throttled"
    assert "throttling" in last.message


class Fake(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        self.response = {"Error": {"Code": code, "Message": message}}


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (Fake("ServiceUnavailableException"), ModelUnavailable),
        (Fake("modelNotReadyException"), ModelUnavailable),
        (Fake("ExpiredTokenException"), ModelAccessDenied),
        (Fake("ServiceQuotaExceededException"), ModelThrottled),
        (Fake("ResourceNotFoundException"), ModelNotFound),
        (Fake("SomethingNew"), ModelError),
    ],
)
def test_translate_maps_error_codes(exc: Exception, kind: type[ModelError]) -> None:
    """Each Bedrock error code family maps to its error class."""
    assert type(translate(exc, "m")) is kind


def test_translate_leaves_other_exceptions_alone() -> None:
    """An exception that is no AWS error (and a response with no code) is not translated."""
    assert translate(ValueError("x"), "m") is None
    assert translate(Fake(""), "m") is None
