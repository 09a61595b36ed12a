"""AG-UI: events as the AG-UI spec names them, so an AG-UI client can consume a run.

Our canonical events already use AG-UI's names; this dialect fills the fields the spec requires
(``threadId`` on run events, ``messageId`` and ``role`` on tool results), leaves out empty optional
fields rather than sending nulls, adds ``timestamp`` in milliseconds, and carries our envelope
(``runId``, ``seq``) in the spec's optional ``metadata`` field. Over SSE the ``seq`` is also the
event ``id:``, so ``Last-Event-ID`` resumes.
"""

from __future__ import annotations

from typing import Any

from agentstream.protocol.codec import to_dict
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import plain_control, register
from agentstream.protocol.events import (
    Event,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)

_ENVELOPE = ("runId", "seq", "ts")


class AGUIDialect:
    """AG-UI JSON events."""

    name = "ag-ui"

    def render(self, event: Event) -> dict[str, Any]:
        """The AG-UI event for ``event``."""
        fields = to_dict(event).items()
        frame = {k: v for k, v in fields if k not in _ENVELOPE and v not in ("", None)}
        match event:
            case RunStarted() | RunFinished():
                frame["threadId"] = frame.get("threadId") or event.run_id
                frame["runId"] = event.run_id
            case TextMessageChunk():
                frame["messageId"] = frame.get("messageId") or f"{event.run_id}-text"
            case ToolCallChunk():
                frame.setdefault("parentMessageId", f"{event.run_id}-text")
            case ToolCallResult():
                frame["messageId"] = frame.get("messageId") or f"{event.tool_call_id}-result"
                frame["role"] = "tool"
                frame.pop("toolCallName", None)
                frame.pop("status", None)
        frame["timestamp"] = int(event.ts * 1000)
        frame["metadata"] = {"runId": event.run_id, "seq": event.seq}
        return frame

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """A ``RUN_ERROR`` (the spec's only error event)."""
        return {"type": "RUN_ERROR", "message": message, "code": code, **extra}

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer: errors as ``render_error``, the rest as plain frames."""
        return plain_control(self, control)


DIALECT = register(AGUIDialect())
