"""The strategy builder's wire format (seed 003), for its ``/ws/chat`` client.

The seed's server answered each chat message with the two parts of one model answer: the
``user_message`` for the chat and the ``strategy_json`` for the builder UI. Here they stream:

- ``{"type": "start"}`` when the run begins;
- ``{"type": "user_message_chunk", "content": …}`` as the chat text arrives;
- ``{"type": "strategy_update", "section": "flowchart", "data": {…}, "patch": […]}`` as each
  part of the strategy JSON is complete and valid;
- ``{"type": "strategy_error", "message": …, "section"?: …}`` when the JSON is malformed, missing
  or invalid (the last good strategy is kept);
- ``{"type": "strategy", "strategy_json": {…}}``: the strategy that holds after the answer;
- ``{"type": "response", "user_message": …, "strategy_json": …, "error"?: …}``: the seed's
  ``StrategyBuilderResponse``, last;
- ``{"type": "error", "message": …, "code": …}`` when the run fails.

Every frame also carries ``runId`` and ``seq``; one event always makes one frame.
"""

from __future__ import annotations

from typing import Any

from agentstream.protocol.dialects import register
from agentstream.protocol.dialects.seed import SeedDialect
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateDelta,
    StateSnapshot,
    StepFinished,
    StepStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)


def _started(started_with: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "start"}
    if isinstance(started_with, dict) and started_with.get("requestId") is not None:
        frame["requestId"] = started_with["requestId"]
    return frame


def _update(patch: list[Any]) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "strategy_update", "patch": patch}
    first = patch[0] if patch and isinstance(patch[0], dict) else {}
    section = str(first.get("path", "")).lstrip("/").split("/")[0]
    if section:
        frame["section"] = section
    if len(patch) == 1 and first.get("op") in ("add", "replace") and "/" not in first["path"][1:]:
        frame["data"] = first.get("value")
    return frame


def _result(result: Any) -> dict[str, Any]:
    body = result if isinstance(result, dict) else {}
    frame = {
        "type": "response",
        "user_message": body.get("user_message", ""),
        "strategy_json": body.get("strategy_json"),
    }
    if body.get("error"):
        frame["error"] = body["error"]
    return frame


def _body(event: Event) -> dict[str, Any]:
    match event:
        case RunStarted(input=started_with):
            return _started(started_with)
        case TextMessageChunk(delta=delta):
            return {"type": "user_message_chunk", "content": delta}
        case StateDelta(delta=patch):
            return _update(patch)
        case StateSnapshot(snapshot=snapshot):
            return {"type": "strategy", "strategy_json": snapshot}
        case Custom(name="strategy_error", value=value):
            return {
                **(value if isinstance(value, dict) else {"message": str(value)}),
                "type": "strategy_error",
            }
        case Custom(name=name, value=value):
            return {"type": name, "value": value}
        case RunFinished(result=result):
            return _result(result)
        case RunError(message=message, code=code):
            return {"type": "error", "message": message, "code": code}
        case StepStarted(step_name=step) | StepFinished(step_name=step):
            return {"type": "status", "status": event.type.lower(), "step": step}
        case ToolCallChunk(tool_call_name=name, delta=arguments):
            return {"type": "tool", "name": name, "input": arguments}
        case ToolCallResult(tool_call_name=name, content=content, status=status):
            return {"type": "tool_result", "name": name, "content": content, "status": status}
    return {"type": "status", "status": event.type.lower()}


DIALECT = register(SeedDialect("strategy", _body))
