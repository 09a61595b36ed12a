"""AG-UI 1.0: events as the AG-UI spec names them, so an AG-UI client can consume a run.

Our canonical events already use AG-UI's names; this dialect fills the fields the spec requires
(``threadId`` on run events, ``messageId`` and ``role`` on tool results), leaves out empty optional
fields rather than sending nulls (but never a required one: ``CUSTOM.value``, ``RUN_ERROR.message``
and the like go out even when empty), adds ``timestamp`` in milliseconds, declares
``protocolVersion`` on ``RUN_STARTED``, and carries our envelope (``runId``, ``seq``) in the spec's
optional ``metadata`` field. Over SSE the ``seq`` is also the event ``id:``, so ``Last-Event-ID``
resumes (the resume cursor AG-UI itself lacks, ag-ui#2105).

Two canonical events have no same-named AG-UI event:

- a cancelled run (``RUN_ERROR`` with code ``cancelled``) ends with ``RUN_FINISHED`` and
  ``outcome: {"type": "cancelled"}``: in 1.0 a cancel is not a failure; the reason goes in
  ``metadata.message``;
- ``RUN_STARTED.input`` is AG-UI's ``RunAgentInput`` echo, which our runs do not have (they start
  from an app's own request), so the app request travels as ``metadata.input``.

The canonical model has no reasoning events; were one added, it renders as ``REASONING_*``
(1.0 dropped ``THINKING_*``).
"""

from __future__ import annotations

from typing import Any, Final

from agentstream.protocol.codec import to_dict
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import plain_control, register
from agentstream.protocol.events import (
    Event,
    RunError,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)

PROTOCOL_VERSION: Final = "1.0"
CANCELLED: Final = "cancelled"
_ENVELOPE = ("runId", "seq", "ts")
# Fields AG-UI requires (so an empty value is still sent), per event type.
_REQUIRED: dict[str, frozenset[str]] = {
    "CUSTOM": frozenset({"value"}),
    "RUN_ERROR": frozenset({"message"}),
    "STATE_SNAPSHOT": frozenset({"snapshot"}),
    "STATE_DELTA": frozenset({"delta"}),
    "TOOL_CALL_RESULT": frozenset({"content"}),
}


def _fields(event: Event) -> dict[str, Any]:
    """The event's own fields, without our envelope and without empty optional ones."""
    keep = _REQUIRED.get(event.type, frozenset())
    return {
        k: v
        for k, v in to_dict(event).items()
        if k not in _ENVELOPE and (k in keep or v not in ("", None))
    }


class AGUIDialect:
    """AG-UI 1.0 JSON events."""

    name = "ag-ui"

    def render(self, event: Event) -> dict[str, Any]:
        """The AG-UI event for ``event``."""
        frame = _fields(event)
        metadata: dict[str, Any] = {"runId": event.run_id, "seq": event.seq}
        match event:
            case RunStarted():
                frame["threadId"] = frame.get("threadId") or event.run_id
                frame["runId"] = event.run_id
                frame["protocolVersion"] = PROTOCOL_VERSION
                if "input" in frame:
                    metadata["input"] = frame.pop("input")
            case RunFinished():
                frame["threadId"] = frame.get("threadId") or event.run_id
                frame["runId"] = event.run_id
            case RunError(code=code) if code == CANCELLED:
                frame = {"type": "RUN_FINISHED", "threadId": event.run_id, "runId": event.run_id}
                frame["outcome"] = {"type": CANCELLED}
                metadata["message"] = event.message
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
        frame["metadata"] = metadata
        return frame

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """A ``RUN_ERROR`` (the spec's only error event).

        ``requestId``/``retryAfter`` stay top level, as in every dialect (the spec keeps unknown
        keys, so an AG-UI client still reads the error).
        """
        return {"type": "RUN_ERROR", "message": message, "code": code, **extra}

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer: errors as ``render_error``, the rest as plain frames."""
        return plain_control(self, control)


DIALECT = register(AGUIDialect())
