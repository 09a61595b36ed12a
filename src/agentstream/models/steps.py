"""Schema-constrained agent steps: the JSON schemas, and decoders from generated text to events.

Small models do not emit native tool calls reliably, so each model call is constrained to one
JSON *step*: a message for the user, then an optional tool call::

    {"message": "Adding them.", "tool_call": {"name": "add", "arguments": {"a": 2, "b": 3}}}
    {"message": "2 + 3 = 5.", "tool_call": null}

The message comes first so it can stream, and it is the only text, so nothing is said twice (a
separate "thought" before a "final_answer" made small models answer in the thought and then
repeat or garble the answer). The decoders here turn the generated text, piece by piece, into
Bedrock-shaped Strands ``StreamEvent`` dicts: the message becomes text deltas *while it is
generated* (the JSON string is decoded incrementally, escapes included), and a tool call becomes
a ``toolUse`` content block whose input streams as raw JSON.

This module does no I/O: feed it text, read events back.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from agentstream.models.jsonscan import (
    JsonPath,
    JsonScanner,
    RawPiece,
    ScanEvent,
    StringPiece,
    ValueEnd,
)

__all__ = [
    "ForcedDecoder",
    "JsonPath",
    "JsonScanner",
    "NotJsonOutput",
    "PlannedDecoder",
    "RawPiece",
    "ScanEvent",
    "StepDecoder",
    "StringPiece",
    "TextDecoder",
    "ValueEnd",
    "forced_schema",
    "step_schema",
]

Event: TypeAlias = dict[str, Any]
StopReason: TypeAlias = Literal["end_turn", "tool_use", "max_tokens"]

# LLGuidance options: compact separators so output is deterministic and short; ``lenient`` so an
# unsupported keyword (e.g. an unknown "format") is ignored instead of disabling the constraint.
GUIDANCE = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
    "lenient": True,
    "coerce_one_of": True,
}
MESSAGE = ("message",)
TOOL_NAME = ("tool_call", "name")
ARGUMENTS = ("tool_call", "arguments")


class NotJsonOutput(ValueError):
    """Constrained output that does not start as a JSON object (the schema was not applied)."""


# --- schemas ---------------------------------------------------------------------------------


def arguments_schema(tool_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON schema of a tool's input, with objects closed to unlisted properties.

    Without ``additionalProperties: false`` a small model happily invents extra keys.
    """
    schema = copy.deepcopy(tool_spec.get("inputSchema", {}).get("json") or {"type": "object"})
    _close_objects(schema)
    return schema


def forced_schema(tool_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The schema for a forced call: exactly the tool's input object."""
    return {**arguments_schema(tool_spec), "x-guidance": GUIDANCE}


def step_schema(
    tool_specs: Sequence[Mapping[str, Any]], *, answer: bool, message_chars: int | None = None
) -> dict[str, Any]:
    """The schema of one step: a message, then a call of one of ``tool_specs`` or ``null``.

    Args:
        tool_specs: The tools the step may call (may be empty: then the call must be null).
        answer: Whether ``null`` (no tool call, the reply is final) is allowed.
        message_chars: The longest message allowed (a small model otherwise restates in its
            message the whole call it is about to make, doubling the tokens it generates).

    Returns:
        A JSON schema for LLGuidance, each tool's ``$defs`` hoisted to the root.
    """
    calls: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    for i, spec in enumerate(tool_specs):
        args = arguments_schema(spec)
        defs.update(_hoist_defs(args, f"t{i}_"))
        calls.append(_closed({"name": {"const": spec["name"]}, "arguments": args}))
    if answer or not calls:
        calls.append({"type": "null"})
    message: dict[str, Any] = {"type": "string", "minLength": 1}  # never an empty answer
    if message_chars is not None:
        message["maxLength"] = message_chars
    schema = _closed({"message": message, "tool_call": {"anyOf": calls}})
    if defs:
        schema["$defs"] = defs
    schema["x-guidance"] = GUIDANCE
    return schema


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# Not "allOf": closing each branch to its own properties would make the branches contradict.
_SCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "not", "if", "then", "else", "additionalProperties", "contains")


def _close_objects(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    for key in _SCHEMA_MAPS:
        for sub in (schema.get(key) or {}).values():
            _close_objects(sub)
    for key in _SCHEMA_LISTS:
        for sub in schema.get(key) or []:
            _close_objects(sub)
    for key in _SCHEMA_ONE:
        _close_objects(schema.get(key))


def _hoist_defs(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Move ``$defs``/``definitions`` out of ``schema`` under prefixed names, rewriting refs."""
    defs = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}
    renamed = {prefix + name: sub for name, sub in defs.items()}
    _rewrite_refs(schema, prefix)
    for sub in renamed.values():
        _rewrite_refs(sub, prefix)
    return renamed


def _rewrite_refs(node: Any, prefix: str) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite_refs(item, prefix)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            for root in ("#/$defs/", "#/definitions/"):
                if ref.startswith(root):
                    node["$ref"] = "#/$defs/" + prefix + ref[len(root) :]
        for key, value in node.items():
            if key not in ("const", "enum", "default", "examples"):
                _rewrite_refs(value, prefix)


# --- decoders: generated text -> Strands stream events --------------------------------------


@dataclass
class _Blocks:
    """Numbers content blocks and builds their events."""

    index: int = -1
    open: bool = False
    has_tool: bool = False

    def start(self, tool: dict[str, str] | None = None) -> list[Event]:
        events = self.stop()
        self.index += 1
        self.open = True
        self.has_tool = self.has_tool or tool is not None
        start = {"toolUse": tool} if tool else {}
        return [*events, {"contentBlockStart": {"contentBlockIndex": self.index, "start": start}}]

    def text(self, text: str) -> Event:
        return {"contentBlockDelta": {"contentBlockIndex": self.index, "delta": {"text": text}}}

    def tool_input(self, text: str) -> Event:
        delta = {"toolUse": {"input": text}}
        return {"contentBlockDelta": {"contentBlockIndex": self.index, "delta": delta}}

    def stop(self) -> list[Event]:
        if not self.open:
            return []
        self.open = False
        return [{"contentBlockStop": {"contentBlockIndex": self.index}}]

    def finish(self, finish_reason: str | None) -> list[Event]:
        reason: StopReason = "tool_use" if self.has_tool else "end_turn"
        if finish_reason == "length":
            reason = "max_tokens"
        return [*self.stop(), {"messageStop": {"stopReason": reason}}]


def new_tool_use_id() -> str:
    """A fresh tool-use id in the style Strands and Bedrock use."""
    return "tooluse_" + uuid.uuid4().hex[:22]


class TextDecoder:
    """Plain text: every piece is a text delta."""

    def __init__(self) -> None:
        """Start with no open block."""
        self.blocks = _Blocks()

    def feed(self, text: str) -> list[Event]:
        """Events for the next piece of generated text."""
        if not text:
            return []
        events = [] if self.blocks.open else self.blocks.start()
        return [*events, self.blocks.text(text)]

    def finish(self, finish_reason: str | None) -> list[Event]:
        """Close the open block and stop the message."""
        return self.blocks.finish(finish_reason)


class _JsonGuard:
    """Checks that constrained output really is a JSON object (LLGuidance applied the schema)."""

    def __init__(self) -> None:
        self.checked = False

    def check(self, text: str) -> None:
        if self.checked or not text.strip():
            return
        self.checked = True
        if not text.lstrip().startswith("{"):
            raise NotJsonOutput(f"expected a JSON object, the model wrote {text[:40]!r}")


class ForcedDecoder:
    """A forced tool call: the whole output is the tool's input, streamed as toolUse deltas."""

    def __init__(self, name: str) -> None:
        """Decode a forced call of tool ``name``."""
        self.name = name
        self.blocks = _Blocks()
        self.guard = _JsonGuard()

    def feed(self, text: str) -> list[Event]:
        """Events for the next piece of generated text."""
        self.guard.check(text)
        if not self.blocks.open:
            text = text.lstrip()
            if not text:
                return []
            tool = {"toolUseId": new_tool_use_id(), "name": self.name}
            return [*self.blocks.start(tool), self.blocks.tool_input(text)]
        return [self.blocks.tool_input(text)] if text else []

    def finish(self, finish_reason: str | None) -> list[Event]:
        """Close the tool block and stop the message."""
        return self.blocks.finish(finish_reason)


class PlannedDecoder:
    """A tool call decided in advance (no generation): one toolUse block with its input."""

    def __init__(self, name: str, arguments: Any) -> None:
        """Call tool ``name`` with ``arguments``."""
        self.name = name
        self.arguments = arguments
        self.blocks = _Blocks()

    def feed(self, text: str) -> list[Event]:
        """Nothing is generated for a planned call."""
        return []

    def finish(self, finish_reason: str | None) -> list[Event]:
        """The whole call: block start, its input, block stop, message stop."""
        tool = {"toolUseId": new_tool_use_id(), "name": self.name}
        arguments = json.dumps(self.arguments, ensure_ascii=False)
        start = self.blocks.start(tool)
        return [*start, self.blocks.tool_input(arguments), *self.blocks.finish(finish_reason)]


class StepDecoder:
    """One JSON step: the message as text deltas, a tool call as a toolUse block."""

    def __init__(self) -> None:
        """Start before the step's opening brace."""
        paths = frozenset({MESSAGE, TOOL_NAME})
        self.scanner = JsonScanner(text_paths=paths, raw_paths=frozenset({ARGUMENTS}))
        self.blocks = _Blocks()
        self.guard = _JsonGuard()
        self._name: list[str] = []

    def feed(self, text: str) -> list[Event]:
        """Events for the next piece of generated text."""
        self.guard.check(text)
        events: list[Event] = []
        for scanned in self.scanner.feed(text):
            events.extend(self._on(scanned))
        return events

    def _on(self, scanned: ScanEvent) -> list[Event]:
        match scanned:
            case StringPiece(path=("message",), text=piece):
                opening = [] if self.blocks.open else self.blocks.start()
                return [*opening, self.blocks.text(piece)]
            case StringPiece(path=("tool_call", "name"), text=piece):
                self._name.append(piece)
            case ValueEnd(path=("tool_call", "name")):
                return self.blocks.start(
                    {"toolUseId": new_tool_use_id(), "name": "".join(self._name)}
                )
            case RawPiece(text=piece) if piece:
                return [self.blocks.tool_input(piece)]
            case ValueEnd():
                return self.blocks.stop()
        return []

    def finish(self, finish_reason: str | None) -> list[Event]:
        """Close the open block and stop the message."""
        return self.blocks.finish(finish_reason)


Decoder: TypeAlias = TextDecoder | ForcedDecoder | StepDecoder | PlannedDecoder
