"""Raw prompts for local models: chat templates, and Strands messages rendered as turns.

We format prompts ourselves and call the engine's plain completion endpoint, so that a base
model with no chat template (Gemma 3 270M) works like an instruction-tuned one (Qwen, ChatML).

Previous tool calls are rendered as the JSON steps the model itself writes (see ``steps.py``),
and tool results as ``<tool_response>`` blocks in a user turn, the way Qwen was trained.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SYSTEM = "You are a helpful assistant."

TOOLS_INTRO = """\
You can call tools. Reply with exactly one JSON object, in one of these two forms:
{"message": "<what you are doing, one short sentence>", "tool_call": {"name": "<tool name>", \
"arguments": {<arguments>}}}
{"message": "<your answer to the user>", "tool_call": null}
Call a tool only when you need its result. Its result comes back in <tool_response> tags; \
then call another tool or answer.

Tools:"""

ENOUGH_TOOLS = "(You have used enough tools. Give your final answer now.)"


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    """How turns are written for one model family."""

    name: str
    start: str
    end: str
    assistant_role: str
    system_role: str | None
    """None: the family has no system role, so the system text opens the first user turn."""

    @property
    def stop(self) -> list[str]:
        """Strings that end a reply (the model must not write the next turn)."""
        return [self.end, self.start]

    def turn(self, role: str, text: str) -> str:
        """One complete turn."""
        return f"{self.start}{role}\n{text}{self.end}\n"

    def clean(self, text: str) -> str:
        """``text`` without turn markers, so no message can open a turn of its own."""
        return text.replace(self.start, "").replace(self.end, "")

    def generation_prefix(self) -> str:
        """The opening of the assistant turn the model completes."""
        return f"{self.start}{self.assistant_role}\n"


CHATML = ChatTemplate("chatml", "<|im_start|>", "<|im_end|>", "assistant", "system")
GEMMA = ChatTemplate("gemma", "<start_of_turn>", "<end_of_turn>", "model", None)


def template_for(weights: str | Path) -> ChatTemplate:
    """The template for a weights name or file: Gemma turns for Gemma, ChatML otherwise."""
    return GEMMA if "gemma" in Path(str(weights)).name.lower() else CHATML


def render(template: ChatTemplate, system: str, turns: Sequence[tuple[str, str]]) -> str:
    """The full prompt: system text, the turns, and the opening of the assistant's reply.

    Args:
        template: The model family's template.
        system: The system text.
        turns: ``(role, text)`` pairs, role ``"user"`` or ``"assistant"``.

    Returns:
        The prompt string.
    """
    parts: list[str] = []
    pending_system = system
    if template.system_role:
        parts.append(template.turn(template.system_role, system))
        pending_system = ""
    for role, raw in turns:
        text = template.clean(raw)
        if role == "user" and pending_system:
            text, pending_system = f"{pending_system}\n\n{text}", ""
        parts.append(
            template.turn(template.assistant_role if role == "assistant" else "user", text)
        )
    if pending_system:
        parts.append(template.turn("user", pending_system))
    parts.append(template.generation_prefix())
    return "".join(parts)


def system_text(system_prompt: str | None, content: Iterable[Mapping[str, Any]] | None) -> str:
    """The system prompt as text (from the string, else the text blocks), or the default."""
    if system_prompt:
        return system_prompt
    texts = [block["text"] for block in content or () if "text" in block]
    return "\n".join(texts) or DEFAULT_SYSTEM


def tools_section(tool_specs: Sequence[Mapping[str, Any]]) -> str:
    """Instructions for JSON steps plus one line per tool: ``- name(arg: type, ...): what``."""
    lines = [TOOLS_INTRO]
    for spec in tool_specs:
        schema = spec.get("inputSchema", {}).get("json") or {}
        description = " ".join(str(spec.get("description", "")).split())
        lines.append(f"- {spec['name']}({_signature(schema)}): {description}")
    return "\n".join(lines)


def forced_instruction(tool_spec: Mapping[str, Any]) -> str:
    """What to ask for when the reply must be exactly the input of ``tool_spec``.

    The fields are listed compactly (name, type, description, nested objects indented): the
    decoding constraint enforces the exact schema, so the prompt only has to convey meaning,
    and every prompt token costs time on a CPU.
    """
    schema = tool_spec.get("inputSchema", {}).get("json") or {}
    description = " ".join(str(tool_spec.get("description", "")).split())
    fields = "\n".join(_field_lines(schema, schema.get("$defs", {}), ""))
    return (
        f"Reply with only a JSON object for {tool_spec['name']} ({description}). Fields:\n{fields}"
    )


def _field_lines(schema: Mapping[str, Any], defs: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    required = set(schema.get("required", []))
    for name, prop in (schema.get("properties") or {}).items():
        prop = _deref(prop, defs)
        optional = "" if name in required else " (optional)"
        about = " ".join(str(prop.get("description", "")).split())
        lines.append(f"{indent}{name}: {_type_name(prop)}{optional}{' - ' if about else ''}{about}")
        if len(indent) < 8:  # nested objects, a few levels deep
            lines += _field_lines(_deref(prop.get("items", prop), defs), defs, indent + "  ")
    return lines


def _deref(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs:
        return {**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop


def _signature(schema: Mapping[str, Any]) -> str:
    required = set(schema.get("required", []))
    args = []
    for name, prop in (schema.get("properties") or {}).items():
        optional = "" if name in required else "?"
        args.append(f"{name}{optional}: {_type_name(prop)}")
    return ", ".join(args)


def _type_name(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    kind = prop.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"list[{_type_name(prop.get('items') or {})}]"
    if "const" in prop:
        return json.dumps(prop["const"])
    if kind:
        return str(kind)
    if "anyOf" in prop:
        return " | ".join(_type_name(p) for p in prop["anyOf"])
    return "object" if "$ref" in prop else "any"


# --- messages -> turns -----------------------------------------------------------------------


def conversation(messages: Sequence[Mapping[str, Any]], *, steps: bool) -> list[tuple[str, str]]:
    """Strands messages as ``(role, text)`` turns; consecutive turns of one role are merged.

    Args:
        messages: The conversation, in Strands (Bedrock) message format.
        steps: Render text-only assistant replies as JSON steps (when tools are offered).

    Returns:
        The turns to render.
    """
    names = {
        block["toolUse"]["toolUseId"]: block["toolUse"]["name"]
        for message in messages
        for block in message.get("content", [])
        if "toolUse" in block
    }
    turns: list[tuple[str, str]] = []
    for message in messages:
        role = "assistant" if message.get("role") == "assistant" else "user"
        content = message.get("content", [])
        text = (
            _assistant_text(content, steps) if role == "assistant" else _user_text(content, names)
        )
        if turns and turns[-1][0] == role:
            turns[-1] = (role, f"{turns[-1][1]}\n\n{text}")
        else:
            turns.append((role, text))
    return turns


def step_json(message: str, tool_call: Mapping[str, Any] | None) -> str:
    """A JSON step as the model writes it (same separators as the constrained output)."""
    return json.dumps({"message": message, "tool_call": tool_call}, ensure_ascii=False)


def _assistant_text(content: Sequence[Mapping[str, Any]], steps: bool) -> str:
    message = "\n".join(block["text"] for block in content if "text" in block)
    calls = [block["toolUse"] for block in content if "toolUse" in block]
    if calls:
        return "\n".join(
            step_json(message, {"name": c["name"], "arguments": c.get("input", {})}) for c in calls
        )
    return step_json(message, None) if steps else message


def _user_text(content: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    parts: list[str] = []
    for block in content:
        if "text" in block:
            parts.append(block["text"])
        elif "toolResult" in block:
            parts.append(_tool_result(block["toolResult"], names))
        else:
            parts.append(f"[{next(iter(block), 'content')} omitted]")
    return "\n\n".join(parts)


def _tool_result(result: Mapping[str, Any], names: Mapping[str, str]) -> str:
    items = []
    for item in result.get("content", []):
        if "text" in item:
            items.append(item["text"])
        elif "json" in item:
            items.append(json.dumps(item["json"], ensure_ascii=False))
    status = "" if result.get("status", "success") == "success" else " (error)"
    name = names.get(result.get("toolUseId", ""), "tool")
    return f"<tool_response>\n{name}{status}: {' '.join(items)}\n</tool_response>"
