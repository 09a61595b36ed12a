"""The Vercel AI SDK's UI message stream (protocol ``v1``), rendered from the canonical events.

What ``useChat``'s default transport and ``readUIMessageStream`` read: SSE ``data:`` lines of JSON
*parts*, then ``data: [DONE]``, on a response with the header
``x-vercel-ai-ui-message-stream: v1``. One run is one assistant message.

===========================  ===============================================================
canonical                    parts
===========================  ===============================================================
``RUN_STARTED``              ``start`` (``messageId`` = our run id; ``messageMetadata`` has
                             ``runId``, so a client can cancel over HTTP)
``TEXT_MESSAGE_CHUNK``       ``text-start`` (first of a block), ``text-delta``
``TOOL_CALL_CHUNK``          ``text-end`` (if text was open), ``tool-input-start``,
                             ``tool-input-delta``, ``tool-input-available`` (``dynamic``: the
                             client declares no tools)
``TOOL_CALL_RESULT``         ``tool-output-available`` (``tool-output-error`` when it failed)
``STATE_SNAPSHOT``/``DELTA``  ``data-state`` with the whole partial record, one id, so the SDK
                             replaces it in place as it fills in
``STEP_*``, ``CUSTOM``       ``data-step``, ``data-<name>`` (one id per name: replaced in place)
``RUN_FINISHED``             ``data-result`` (when there is one), ``finish``
``RUN_ERROR``                ``error`` then ``finish`` (``finishReason`` ``error``); a cancel is
                             ``abort`` instead: stopping is not a failure
===========================  ===============================================================

Unlike the other dialects this one is not one frame per event: the SDK needs start/end pairs
around text and tool input that our chunk events do not have. So it is a small stateful encoder
(:class:`UIMessageStream`, one per response, pure, no I/O) rather than a registered dialect; the
seq-exact resume of the other dialects does not apply (the SDK's default transport does not
resume by position).
"""

from __future__ import annotations

import json
from typing import Any, Final

import jsonpatch

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

HEADER: Final = "x-vercel-ai-ui-message-stream"
VERSION: Final = "v1"
DONE: Final = "[DONE]"
CANCELLED: Final = "cancelled"

Part = dict[str, Any]


def _json_or_text(text: str) -> Any:
    """A tool's JSON input as a value (the raw text when it is not JSON)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class UIMessageStream:
    """Canonical events in, UI message stream parts out (one instance per streamed message)."""

    def __init__(self) -> None:
        """Start with no text open and no state."""
        self._text_id: str | None = None
        self._blocks = 0
        self._state: Any = None
        self.ended = False

    def feed(self, event: Event) -> list[Part]:
        """The parts for ``event`` (possibly none, possibly several)."""
        match event:
            case RunStarted():
                return [
                    {"type": "start", "messageId": event.run_id, "messageMetadata": _meta(event)}
                ]
            case TextMessageChunk(delta=delta):
                return self._text(event, delta)
            case ToolCallChunk():
                return [*self._close_text(), *_tool_input(event)]
            case ToolCallResult():
                return [_tool_output(event)]
            case StateSnapshot(snapshot=snapshot):
                self._state = snapshot
                return [self._state_part()]
            case StateDelta(delta=patch):
                return self._patched(patch)
            case StepStarted(step_name=name) | StepFinished(step_name=name):
                status = "started" if isinstance(event, StepStarted) else "finished"
                return [{"type": "data-step", "id": name, "data": {"name": name, "status": status}}]
            case Custom(name=name, value=value):
                return [{"type": f"data-{name}", "id": name, "data": value}]
            case RunFinished():
                return self._finished(event)
            case RunError():
                return self._failed(event)
        return []

    def error(self, message: str) -> list[Part]:
        """Parts for an error outside any run (the stream ends after them)."""
        self.ended = True
        return [
            {"type": "error", "errorText": message},
            {"type": "finish", "finishReason": "error"},
        ]

    def _text(self, event: TextMessageChunk, delta: str) -> list[Part]:
        parts: list[Part] = []
        if self._text_id is None:
            self._blocks += 1
            self._text_id = event.message_id or f"{event.run_id}-text-{self._blocks}"
            parts.append({"type": "text-start", "id": self._text_id})
        if delta:
            parts.append({"type": "text-delta", "id": self._text_id, "delta": delta})
        return parts

    def _close_text(self) -> list[Part]:
        if self._text_id is None:
            return []
        text_id, self._text_id = self._text_id, None
        return [{"type": "text-end", "id": text_id}]

    def _state_part(self) -> Part:
        return {"type": "data-state", "id": "state", "data": self._state}

    def _patched(self, patch: list[Any]) -> list[Part]:
        try:
            self._state = jsonpatch.apply_patch(self._state, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            return []  # a delta that does not apply: the next snapshot or the result corrects it
        return [self._state_part()]

    def _finished(self, event: RunFinished) -> list[Part]:
        self.ended = True
        parts = self._close_text()
        if event.result is not None:
            parts.append({"type": "data-result", "id": "result", "data": event.result})
        parts.append({"type": "finish", "finishReason": "stop", "messageMetadata": _meta(event)})
        return parts

    def _failed(self, event: RunError) -> list[Part]:
        self.ended = True
        parts = self._close_text()
        if event.code == CANCELLED:
            return [*parts, {"type": "abort", "reason": event.message}]
        parts.append({"type": "error", "errorText": event.message})
        parts.append({"type": "finish", "finishReason": "error", "messageMetadata": _meta(event)})
        return parts


def _meta(event: Event) -> dict[str, Any]:
    return {"runId": event.run_id, "seq": event.seq}


def _tool_input(event: ToolCallChunk) -> list[Part]:
    call = {"toolCallId": event.tool_call_id, "toolName": event.tool_call_name, "dynamic": True}
    return [
        {"type": "tool-input-start", **call},
        {
            "type": "tool-input-delta",
            "toolCallId": event.tool_call_id,
            "inputTextDelta": event.delta,
        },
        {"type": "tool-input-available", **call, "input": _json_or_text(event.delta)},
    ]


def _tool_output(event: ToolCallResult) -> Part:
    call = {"toolCallId": event.tool_call_id, "dynamic": True}
    if event.status == "error":
        return {"type": "tool-output-error", **call, "errorText": event.content}
    return {"type": "tool-output-available", **call, "output": _json_or_text(event.content)}
