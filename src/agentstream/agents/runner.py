"""Drive a Strands agent and turn its stream into our events.

Strands' raw events carry the agent, OpenTelemetry spans, UUIDs and other objects that are not
JSON; we never forward them. Text deltas become ``TextMessageChunk``; a finished assistant message
yields one ``ToolCallChunk`` per tool use (arguments complete); the following user message yields a
``ToolCallResult`` per tool result. The structured-output tool is not shown as a tool call: its
value is the run's result, and while the model writes its input the partial value streams as
``StateSnapshot`` then ``StateDelta`` events (see ``partial.py``). A model's report of prompt
processing (``{"promptProgress": {...}}`` in its stream, from the local model) becomes
``Custom(name="progress", value={"stage": "prompt", "processed", "total", "cached"})``.

An agent loop is capped at ``max_cycles`` model turns (:class:`TooManyCycles`): a model that calls
tools forever would otherwise burn model time until Python's recursion limit ends it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pydantic import BaseModel

from agentstream.agents.partial import PartialState
from agentstream.errors import AgentstreamError
from agentstream.protocol.events import (
    Custom,
    Event,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)

logger = logging.getLogger(__name__)

MAX_CYCLES = 25


class TooManyCycles(AgentstreamError):
    """The agent took more model turns than one run may."""

    code: ClassVar[str] = "too_many_cycles"


class AgentStream:
    """One ``stream_async`` invocation, as our events; read ``result`` afterwards."""

    def __init__(
        self,
        agent: Any,
        prompt: Any,
        *,
        structured_output_model: type[BaseModel] | None = None,
        cancel_signal: threading.Event | None = None,
        message_prefix: str = "msg",
        max_cycles: int = MAX_CYCLES,
    ) -> None:
        """Prepare to run ``agent`` on ``prompt``, for at most ``max_cycles`` model turns."""
        self.max_cycles = max_cycles
        self.agent = agent
        self.prompt = prompt
        self.output_model = structured_output_model
        self.cancel_signal = cancel_signal
        self.result: Any = None
        self.structured_output: BaseModel | None = None
        self.stop_reason: str | None = None
        self._prefix = message_prefix
        self._messages = 0
        self._tool_names: dict[str, str] = {}
        self.partial = PartialState()
        self._partial_id = ""

    @property
    def _message_id(self) -> str:
        return f"{self._prefix}-{self._messages}"

    async def events(self) -> AsyncIterator[Event]:
        """Our events, in order, until the agent stops."""
        kwargs: dict[str, Any] = {}
        if self.output_model is not None:
            kwargs["structured_output_model"] = self.output_model
        if self.cancel_signal is not None:
            kwargs["cancel_signal"] = self.cancel_signal
        async for raw in self.agent.stream_async(self.prompt, **kwargs):
            for event in self._translate(raw):
                yield event

    def settle(self, final: dict[str, Any]) -> list[Event]:
        """Events that align the streamed partial state with the validated ``final`` result."""
        return self.partial.settle(final)

    def _translate(self, raw: dict[str, Any]) -> list[Event]:
        if isinstance(raw.get("current_tool_use"), dict):
            return self._tool_input(raw["current_tool_use"])
        if isinstance(raw.get("event"), dict) and "promptProgress" in raw["event"]:
            return [_progress(raw["event"]["promptProgress"])]
        if "data" in raw and isinstance(raw["data"], str):
            return (
                [TextMessageChunk(delta=raw["data"], message_id=self._message_id)]
                if raw["data"]
                else []
            )
        if "message" in raw and isinstance(raw["message"], dict):
            return self._from_message(raw["message"])
        if "structured_output" in raw and isinstance(raw["structured_output"], BaseModel):
            self.structured_output = raw["structured_output"]
        elif "result" in raw:
            self.result = raw["result"]
            self.stop_reason = str(getattr(self.result, "stop_reason", "") or "")
            output = getattr(self.result, "structured_output", None)
            if isinstance(output, BaseModel):
                self.structured_output = output
        return []

    def _tool_input(self, use: dict[str, Any]) -> list[Event]:
        """The structured output's partial state, while the model writes it."""
        if not self._is_output_tool(str(use.get("name", ""))):
            return []
        call_id = str(use.get("toolUseId", ""))
        if call_id != self._partial_id:  # a new attempt: its text starts over
            self._partial_id = call_id
            self.partial.text = ""
        text = use.get("input")
        return self.partial.feed(text) if isinstance(text, str) else []

    def _from_message(self, message: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        role = message.get("role")
        for block in message.get("content") or []:
            if role == "assistant" and "toolUse" in block:
                events.extend(self._tool_use(block["toolUse"]))
            elif role == "user" and "toolResult" in block:
                events.extend(self._tool_result(block["toolResult"]))
        if role == "assistant":
            self._messages += 1
            if self._messages >= self.max_cycles and any(
                "toolUse" in block for block in message.get("content") or []
            ):
                raise TooManyCycles(
                    f"the agent is still calling tools after {self._messages} turns"
                )
        return events

    def _is_output_tool(self, name: str) -> bool:
        return self.output_model is not None and name == self.output_model.__name__

    def _tool_use(self, use: dict[str, Any]) -> list[Event]:
        call_id, name = str(use.get("toolUseId", "")), str(use.get("name", ""))
        self._tool_names[call_id] = name
        if self._is_output_tool(name):
            return []
        return [
            ToolCallChunk(
                tool_call_id=call_id,
                tool_call_name=name,
                delta=json.dumps(use.get("input") or {}),
                parent_message_id=self._message_id,
            )
        ]

    def _tool_result(self, result: dict[str, Any]) -> list[Event]:
        call_id = str(result.get("toolUseId", ""))
        name = self._tool_names.get(call_id, "")
        if self._is_output_tool(name):
            return []
        return [
            ToolCallResult(
                tool_call_id=call_id,
                tool_call_name=name,
                content=_result_text(result.get("content")),
                status=str(result.get("status", "success")),
            )
        ]


def _progress(value: Any) -> Custom:
    """The canonical progress event for a model's prompt-processing report."""
    report = value if isinstance(value, dict) else {}
    return Custom(
        name="progress",
        value={
            "stage": "prompt",
            "processed": int(report.get("processed", 0)),
            "total": int(report.get("total", 0)),
            "cached": int(report.get("cached", 0)),
        },
    )


def _result_text(content: Any) -> str:
    parts = []
    for item in content or []:
        if isinstance(item, dict) and "text" in item:
            parts.append(str(item["text"]))
        elif isinstance(item, dict) and "json" in item:
            parts.append(json.dumps(item["json"]))
    return "".join(parts)
