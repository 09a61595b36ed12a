"""The real-estate orchestrator's wire format (seed 004), for its WebSocket clients.

Every frame has a ``type`` and a ``timestamp`` (Unix seconds, from the event's ``ts``):

- ``{"type": "status", "message": "Processing your query..."}`` as the run starts, routes,
  searches and calls tools (tool frames add ``tool`` and ``input`` or ``status``);
- ``{"type": "message", "role": "assistant", "content": …}`` with each complete agent message;
- ``{"type": "message_delta", "role": "assistant", "content": …}`` as text streams (the seed's
  clients ignore it; ours type along);
- ``{"type": "result", "data": {"success", "content", "agent", "query_type",
  "tools_available", "tools_used", "sources"}}`` at the end;
- ``{"type": "error", "error": …, "code": …}`` when the run fails or the request is bad.

Every frame also carries ``runId`` and ``seq``; one event always makes one frame.
"""

from __future__ import annotations

import time
from typing import Any

from agentstream.protocol.control import Control
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


def _started(started_with: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "status", "message": "Processing your query..."}
    if isinstance(started_with, dict) and started_with.get("requestId") is not None:
        frame["requestId"] = started_with["requestId"]
    return frame


def _custom(name: str, value: Any) -> dict[str, Any]:
    if name == "status":
        body = value if isinstance(value, dict) else {"message": str(value)}
        return {**body, "type": "status"}
    if name == "message":
        body = value if isinstance(value, dict) else {"content": str(value)}
        return {"role": "assistant", **body, "type": "message"}
    return {"type": name, "value": value}


def _body(event: Event) -> dict[str, Any]:
    match event:
        case RunStarted(input=started_with):
            return _started(started_with)
        case Custom(name=name, value=value):
            return _custom(name, value)
        case TextMessageChunk(delta=delta, role=role):
            return {"type": "message_delta", "role": role, "content": delta}
        case ToolCallChunk(tool_call_id=call_id, tool_call_name=name, delta=arguments):
            return {
                "type": "status",
                "message": f"Using tool {name}",
                "tool": name,
                "input": tool_input(arguments),
                "id": call_id,
            }
        case ToolCallResult(tool_call_id=call_id, tool_call_name=name, status=status):
            return {
                "type": "status",
                "message": f"Tool {name} finished ({status})",
                "tool": name,
                "status": status,
                "id": call_id,
            }
        case RunFinished(result=result):
            return {"type": "result", "data": result}
        case RunError(message=message, code=code):
            return {"type": "error", "error": message, "code": code}
        case StepStarted(step_name=step):
            return {"type": "status", "message": f"Started {step}", "step": step}
        case StepFinished(step_name=step):
            return {"type": "status", "message": f"Finished {step}", "step": step}
        case StateSnapshot(snapshot=snapshot):
            return {"type": "state", "snapshot": snapshot}
        case StateDelta(delta=delta):
            return {"type": "state_delta", "delta": delta}
    return {"type": "status", "message": event.type.lower()}


class RealEstateDialect(SeedDialect):
    """Seed 004 frames: every frame, errors included, carries a ``timestamp``."""

    def render(self, event: Event) -> dict[str, Any]:
        """The frame for ``event``, with the event's ``ts`` as its ``timestamp``."""
        frame = super().render(event)
        frame["timestamp"] = event.ts
        return frame

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """``{"type": "error", "error": …}`` for a bad request (``message`` too, for our client)."""
        return super().render_error(message, code, error=message, timestamp=time.time(), **extra)

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer with the seed's ``timestamp``, like every other frame."""
        frame = super().render_control(control)
        frame.setdefault("timestamp", time.time())
        return frame


DIALECT = register(RealEstateDialect("realestate", _body))
