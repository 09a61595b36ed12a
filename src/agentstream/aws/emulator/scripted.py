"""The emulator's scripted Bedrock: text, or a schema-valid tool call when one is required.

``agentstream emulate --model scripted`` serves any template's handlers, so its Bedrock cannot
know what an app expects. It answers from the request alone:

- ``toolChoice`` ``{"tool": {"name": X}}`` (what Strands sends for structured output) gets a
  call of X whose input is an instance of X's input schema; ``{"any": {}}`` a call of the first
  tool offered;
- anything else gets a short text reply, so an agent with tools answers without calling them.

The input is built by :func:`instance`, deterministic and readable: each required property is
filled, arrays get ``minItems`` items (one if allowed), strings name their property and honour
``format`` (``date``, ``date-time``…), ``pattern`` (a date, a time or a word that matches),
``enum``, ``const`` and lengths, numbers their bounds. Written here rather than taken from
``hypothesis-jsonschema``: that one draws random (often empty or unreadable) values and would
bring hypothesis into the runtime; this needs a plausible instance, the same every time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

TEXT = (
    "This is the emulator's scripted model: it streams this text, and calls a tool only when "
    "the request requires one (structured output). Run with --model local for real answers."
)

_FORMATS: dict[str, str] = {
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "time": "12:00:00Z",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _formatted(fmt: str) -> str | None:
    now = _now()
    if fmt == "date":
        return now.date().isoformat()
    if fmt == "date-time":
        return now.isoformat().replace("+00:00", "Z")
    return _FORMATS.get(fmt)


def _string(schema: Mapping[str, Any], name: str) -> str:
    fmt = _formatted(str(schema.get("format", "")))
    pattern = schema.get("pattern")
    word = re.sub(r"[^A-Za-z0-9]+", " ", name).strip() or "example"
    if fmt is None and isinstance(pattern, str):
        candidates = [_formatted("date"), _formatted("date-time"), "12:00", word, "example", "0"]
        fmt = next((c for c in candidates if c and re.search(pattern, c)), None)
    value = fmt or word
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    return value[: int(high)] if high is not None else value


def _number(schema: Mapping[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    value: float = 0 if low is None else float(low) + (1 if "exclusiveMinimum" in schema else 0)
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if high is not None and value > float(high):
        value = float(high) - (1 if "exclusiveMaximum" in schema else 0)
    return int(value) if integer else value


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/X``) followed and the first branch chosen."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return _resolve({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, Sequence) and branches:
            chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
            rest = {k: v for k, v in schema.items() if k != key}
            return _resolve({**rest, **chosen}, root)
    if isinstance(all_of := schema.get("allOf"), Sequence) and all_of:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in all_of:
            merged.update(_resolve(part, root))
        return merged
    return schema


def instance(
    schema: Mapping[str, Any], name: str = "", root: Mapping[str, Any] | None = None
) -> Any:
    """A value valid against ``schema`` (see the module docstring), deterministic."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), Sequence) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return _object(schema, root)
    if kind == "array":
        count = min(max(1, int(schema.get("minItems", 1))), int(schema.get("maxItems", 1 << 16)))
        items = schema.get("items")
        item: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        return [instance(item, name, root) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name)


def _object(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    names = required + [n for n in properties if n not in required]
    value: dict[str, Any] = {}
    for key in names:
        sub = properties.get(key, {})
        if key not in required and "default" in sub:
            continue  # optional with a default: the app's own default is the honest value
        value[key] = instance(sub, key, root)
    return value


def tool_input(spec: Mapping[str, Any]) -> Any:
    """An input for the tool ``spec`` (a Strands/Converse ``toolSpec``)."""
    schema = spec.get("inputSchema", {})
    return instance(schema.get("json", schema) if isinstance(schema, Mapping) else {})


def required_tool(specs: Sequence[Mapping[str, Any]], choice: Mapping[str, Any]) -> str | None:
    """The tool the request requires a call of, or None when it leaves the choice open."""
    forced = choice.get("tool", {}).get("name") if isinstance(choice.get("tool"), Mapping) else None
    if forced:
        return str(forced)
    if "any" in choice and specs:
        return str(specs[0]["name"])
    return None


def turn(messages: Any, tool_specs: Any, tool_choice: Any) -> list[dict[str, Any]]:
    """One scripted-model turn (see :class:`~agentstream.models.scripted.ScriptedModel`)."""
    specs: Sequence[Mapping[str, Any]] = tool_specs or []
    name = required_tool(specs, tool_choice or {})
    spec = next((s for s in specs if s.get("name") == name), None)
    if name is None or spec is None:
        return [{"text": TEXT}]
    return [{"tool": name, "input": tool_input(spec)}]
