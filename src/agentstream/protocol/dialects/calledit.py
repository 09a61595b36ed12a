"""The CalledIt seed's wire format, so the seed's own clients work unchanged.

The seed's client dispatches on ``type``: ``text`` (``content``), ``tool`` (``name``, ``input``),
``status`` (``status``), ``complete`` (``content``: the prediction record) and ``error``
(``message``). Canonical events the seed never had render as ``status`` frames or as new types that
the seed's client ignores, so every event still yields one frame and ``seq`` stays gap-free.
"""

from __future__ import annotations

from typing import Any

from agentstream.protocol.dialects import register
from agentstream.protocol.dialects.seed import SeedDialect, tool_input
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


def _body(event: Event) -> dict[str, Any]:
    match event:
        case TextMessageChunk(delta=delta):
            return {"type": "text", "content": delta}
        case ToolCallChunk(tool_call_id=call_id, tool_call_name=name, delta=arguments):
            return {"type": "tool", "name": name, "input": tool_input(arguments), "id": call_id}
        case ToolCallResult(tool_call_id=call_id, tool_call_name=name, content=content, status=s):
            return {
                "type": "tool_result",
                "id": call_id,
                "name": name,
                "content": content,
                "status": s,
            }
        case RunFinished(result=result):
            return {"type": "complete", "content": result}
        case RunError(message=message, code=code):
            return {"type": "error", "message": message, "code": code}
        case RunStarted(input=started_with):
            frame: dict[str, Any] = {"type": "status", "status": "started"}
            if isinstance(started_with, dict) and started_with.get("requestId") is not None:
                frame["requestId"] = started_with["requestId"]
            return frame
        case StepStarted(step_name=step):
            return {"type": "status", "status": "step_started", "step": step}
        case StepFinished(step_name=step):
            return {"type": "status", "status": "step_finished", "step": step}
        case Custom(name="status", value=value):
            return {"type": "status", "status": value}
        case Custom(name=name, value=value):
            return {"type": name, "value": value}
        case StateSnapshot(snapshot=snapshot):
            return {"type": "state", "snapshot": snapshot}
        case StateDelta(delta=delta):
            return {"type": "state_delta", "delta": delta}
    return {"type": "status", "status": event.type.lower()}


DIALECT = register(SeedDialect("calledit", _body))
