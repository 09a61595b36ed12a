"""Bedrock Runtime, served locally by agentstream's own models.

Handlers reach it through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` with an unchanged boto3 client:

- ``POST /model/{id}/converse-stream`` and ``/converse`` — what Strands' ``BedrockModel`` calls;
  the Converse request maps one to one onto a Strands ``Model.stream`` (same message and
  stream-event shapes), so the events are re-encoded as they come;
- ``POST /model/{id}/invoke-with-response-stream`` and ``/invoke`` — the Anthropic messages
  format (``anthropic_version``, ``messages``, ``max_tokens``) as handlers written against
  Claude on Bedrock send it; each streamed ``chunk`` carries one Anthropic event in ``bytes``.

Errors can be injected for handlers' error paths: :meth:`BedrockService.fail_next` (or
``POST /_emulator/bedrock/fail``) makes the next calls answer ``ThrottlingException`` (HTTP 429)
or fail mid-stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from agentstream.aws.emulator import eventstream
from agentstream.aws.emulator.http import (
    Request,
    Response,
    start_chunked,
    write_chunk,
    write_response,
)

logger = logging.getLogger(__name__)
_PATH = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<op>converse-stream|converse|invoke-with-response-stream|invoke)$"
)
_STREAM_TYPE = "application/vnd.amazon.eventstream"


@dataclass(frozen=True)
class Fault:
    """An injected error: its AWS type, HTTP status, and whether it hits mid-stream."""

    error: str = "ThrottlingException"
    status: int = 429
    message: str = "Too many requests, please wait before trying again."
    mid_stream: bool = False


def converse_args(body: dict[str, Any]) -> tuple[list[Any], list[Any] | None, str | None]:
    """A Converse request as ``Model.stream`` arguments: messages, tool specs, system prompt.

    Its ``toolChoice`` is passed on separately (:func:`tool_choice`).
    """
    system = "\n".join(block["text"] for block in body.get("system", []) if "text" in block)
    tools = [t["toolSpec"] for t in body.get("toolConfig", {}).get("tools", []) if "toolSpec" in t]
    return list(body.get("messages", [])), tools or None, system or None


def tool_choice(body: dict[str, Any]) -> dict[str, Any] | None:
    """A Converse request's ``toolChoice`` (``auto``, ``any`` or ``{"tool": {"name"}}``)."""
    choice = body.get("toolConfig", {}).get("toolChoice")
    return dict(choice) if isinstance(choice, dict) else None


def anthropic_args(body: dict[str, Any]) -> tuple[list[Any], None, str | None]:
    """An Anthropic messages request as ``Model.stream`` arguments."""
    messages = []
    for message in body.get("messages", []):
        content = message.get("content", "")
        blocks = (
            [{"text": content}]
            if isinstance(content, str)
            else [{"text": c.get("text", "")} for c in content if c.get("type") == "text"]
        )
        messages.append({"role": message.get("role", "user"), "content": blocks})
    system = body.get("system")
    if isinstance(system, list):
        system = "\n".join(s.get("text", "") for s in system)
    return messages, None, system or None


def _message_start(model_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model_id,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    return {"type": "message_start", "message": message}


def anthropic_events(event: dict[str, Any], model_id: str) -> list[dict[str, Any]]:
    """The Anthropic streaming events for one Strands/Converse stream event."""
    ((kind, body),) = event.items()
    index = body.get("contentBlockIndex", 0) if isinstance(body, dict) else 0
    if kind == "messageStart":
        return [_message_start(model_id)]
    if kind == "contentBlockStart":
        block = {"type": "text", "text": ""}
        return [{"type": "content_block_start", "index": index, "content_block": block}]
    if kind == "contentBlockDelta" and "text" in body.get("delta", {}):
        delta = {"type": "text_delta", "text": body["delta"]["text"]}
        return [{"type": "content_block_delta", "index": index, "delta": delta}]
    if kind == "contentBlockStop":
        return [{"type": "content_block_stop", "index": index}]
    if kind == "messageStop":
        stop = {"stop_reason": body.get("stopReason", "end_turn"), "stop_sequence": None}
        usage = {"output_tokens": 0}
        return [{"type": "message_delta", "delta": stop, "usage": usage}, {"type": "message_stop"}]
    return []


class BedrockService:
    """Answers Bedrock Runtime requests from one agentstream model."""

    def __init__(self, model: Any) -> None:
        """Serve Bedrock Runtime calls from ``model`` (a Strands ``Model``)."""
        self.model = model
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []  # what handlers sent, for tests and --verbose
        self._lock = asyncio.Lock()  # one generation at a time: local engines are not re-entrant

    @classmethod
    def for_model(cls, spec: str) -> BedrockService:
        """A service for a ``--model`` spec (``local``, ``gemma``, ``scripted`` …).

        ``scripted`` plays :func:`agentstream.aws.emulator.scripted.turn`: text, or a
        schema-valid call of the tool a request requires (structured output).
        """
        from agentstream.aws.emulator import scripted
        from agentstream.models import create_model

        return cls(create_model(spec, scripted=[scripted.turn]))

    def fail_next(self, fault: Fault | None = None, count: int = 1) -> None:
        """Make the next ``count`` requests fail with ``fault`` (throttling by default)."""
        self.faults.extend([fault or Fault()] * count)

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer ``request`` if it is a Bedrock Runtime call; False when it is not one."""
        if request.method == "POST" and request.path == "/_emulator/bedrock/fail":
            data = json.loads(request.body or b"{}")
            self.fail_next(Fault(**data.get("fault", {})), int(data.get("count", 1)))
            await write_response(writer, Response(204))
            return True
        match = _PATH.match(request.path)
        if request.method != "POST" or match is None:
            return False
        body = json.loads(request.body or b"{}")
        model_id, op = match.group("model"), match.group("op")
        self.requests.append({"modelId": model_id, "operation": op, "body": body})
        logger.info("bedrock %s model=%s", op, model_id)
        fault = self.faults.popleft() if self.faults else None
        if fault is not None and not fault.mid_stream:
            err = Response.json(
                fault.status, {"message": fault.message}, **{"x-amzn-ErrorType": fault.error}
            )
            await write_response(writer, err)
            return True
        async with self._lock:
            await self._answer(op, model_id, body, writer, fault)
        return True

    async def _answer(
        self,
        op: str,
        model_id: str,
        body: dict[str, Any],
        writer: asyncio.StreamWriter,
        fault: Fault | None,
    ) -> None:
        converse = op.startswith("converse")
        args = converse_args(body) if converse else anthropic_args(body)
        choice = tool_choice(body) if converse else None
        # A required tool (structured output) must reach the model, or it answers in text.
        kwargs: dict[str, Any] = {"tool_choice": choice} if choice else {}
        if op in ("converse", "invoke"):
            try:
                events = [e async for e in self.model.stream(*args, **kwargs)]
            except Exception as exc:  # the model failed: Bedrock answers InternalServerException
                logger.warning("bedrock %s | model failed: %s", op, exc)
                error = {"x-amzn-ErrorType": "InternalServerException"}
                await write_response(writer, Response.json(500, {"message": str(exc)}, **error))
                return
            data = converse_result(events) if converse else anthropic_result(events, model_id)
            await write_response(writer, Response.json(200, data))
            return
        await start_chunked(writer, 200, {"Content-Type": _STREAM_TYPE})
        try:
            await self._stream(args, kwargs, converse, model_id, writer, fault)
        except Exception as exc:  # mid-stream failure: an exception event, as Bedrock sends
            logger.warning("bedrock %s | model failed mid-stream: %s", op, exc)
            await write_chunk(writer, eventstream.exception("internalServerException", str(exc)))
        await write_chunk(writer, b"")

    async def _stream(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        converse: bool,
        model_id: str,
        writer: asyncio.StreamWriter,
        fault: Fault | None,
    ) -> None:
        count = 0
        async for event in self.model.stream(*args, **kwargs):
            if fault is not None and count == 2:  # a couple of events in, as a real throttle
                await write_chunk(writer, eventstream.exception(_lower(fault.error), fault.message))
                return
            for frame in self._frames(event, converse, model_id):
                await write_chunk(writer, frame)
            count += 1

    def _frames(self, event: dict[str, Any], converse: bool, model_id: str) -> list[bytes]:
        if converse:
            ((kind, data),) = event.items()
            if kind == "contentBlockStart" and not data.get("start"):
                return []  # Bedrock announces tool-use blocks only; text blocks start with a delta
            return [eventstream.event(kind, data)]
        return [
            eventstream.event("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()})
            for e in anthropic_events(event, model_id)
        ]


def _lower(name: str) -> str:
    """Event-stream exception types start lower case (``throttlingException``)."""
    return name[:1].lower() + name[1:]


def _text_and_stop(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    blocks: dict[int, dict[str, Any]] = {}
    stop = "end_turn"
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start.get("start", {}).get("toolUse")
            blocks[start.get("contentBlockIndex", 0)] = (
                {"toolUse": {**tool, "input": ""}} if tool else {"text": ""}
            )
        elif "contentBlockDelta" in event:
            body = event["contentBlockDelta"]
            block = blocks.setdefault(body.get("contentBlockIndex", 0), {"text": ""})
            delta = body.get("delta", {})
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta and "toolUse" in block:
                block["toolUse"]["input"] += delta["toolUse"].get("input", "")
        elif "messageStop" in event:
            stop = event["messageStop"].get("stopReason", stop)
    content = [blocks[i] for i in sorted(blocks)]
    for block in content:
        if "toolUse" in block:
            block["toolUse"]["input"] = json.loads(block["toolUse"]["input"] or "{}")
    return content, stop


def converse_result(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``Converse`` (non-streaming) answer assembled from stream events."""
    content, stop = _text_and_stop(events)
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
        "metrics": {"latencyMs": 0},
    }


def anthropic_result(events: list[dict[str, Any]], model_id: str) -> dict[str, Any]:
    """The Anthropic ``InvokeModel`` answer assembled from stream events."""
    content, stop = _text_and_stop(events)
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": [{"type": "text", "text": b["text"]} for b in content if "text" in b],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
