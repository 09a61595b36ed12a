"""``LocalModel``: a Strands model running llama.cpp in-process (Qwen 2.5 Coder 1.5B, Gemma 3 270M).

Each call to :meth:`LocalModel.stream` is one of three kinds:

- *text*: no tools offered; the model writes plain text, streamed as text deltas;
- *step*: tools offered; the output is constrained to a JSON step (see ``steps.py``): its
  message streams as text, and its tool call, if any, becomes a ``toolUse`` block;
- *forced*: ``tool_choice`` names a tool (Strands does so for structured output); the output is
  constrained to exactly that tool's input schema and emitted as a call of it.

A loop guard drops the tools from the step schema after ``max_tool_calls`` calls in the current
turn, or when the model repeats a call, so it has to answer.

``tool_plan`` makes tools required first steps of a turn, for apps whose tools small models
skip: each item ``{"name": tool}`` not yet called in the turn is, in order, the only call the
next step may make (the model writes its message and the arguments); an item with ``"input"`` is
called with that input without a model call at all (the app knows the arguments, so no prompt
is read and no token generated for it). Either way Strands runs the tool for real and the model
reads its result in the next step.

While the engine reads a prompt it reports ``{"promptProgress": {"processed", "total",
"cached"}}`` chunks (real batch counts from llama.cpp), before the first token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel
from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from agentstream.models import prompt, steps
from agentstream.models.engine import Engine, EngineSettings, ModelError, get_engine
from agentstream.models.weights import Progress

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

__all__ = ["LocalConfig", "LocalModel", "ModelError"]

PLANNED_MESSAGE_CHARS = 320
"""The longest message of a planned step: a few sentences before the call, not a restatement."""


class LocalConfig(TypedDict, total=False):
    """Settings of a :class:`LocalModel` (``weights``, ``n_ctx``, ``threads`` are fixed at load)."""

    model_id: str
    weights: str
    n_ctx: int
    context_window_limit: int
    threads: int | None
    max_tokens: int
    temperature: float
    max_tool_calls: int
    tool_plan: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Call:
    """One model call, planned: the prompt, the schema (if constrained), and how to decode."""

    kind: str
    prompt: str
    schema: dict[str, Any] | None
    decoder: steps.Decoder


class LocalModel(Model):
    """A Strands ``Model`` backed by a local GGUF model through xllamacpp.

    The model is shared by every ``LocalModel`` with the same weights in the process, and loaded
    on first use (or by :meth:`load`) in a worker thread.
    """

    def __init__(
        self,
        weights: str = "qwen",
        *,
        n_ctx: int = 4096,
        max_tokens: int = 768,
        threads: int | None = None,
        temperature: float = 0.0,
        progress: Progress | None = None,
    ) -> None:
        """Configure the model; nothing is loaded yet.

        Args:
            weights: ``"qwen"``, ``"gemma"`` or the path of a ``.gguf`` file.
            n_ctx: Context window in tokens (prompt plus reply).
            max_tokens: Most tokens generated per model call.
            threads: CPU threads for llama.cpp (default: usable cores minus one, 1 to 8).
            temperature: Sampling temperature (0 is greedy and deterministic).
            progress: Called with ``(bytes_done, bytes_total)`` from a worker thread while the
                weights are assembled on first use.
        """
        self.config: LocalConfig = {
            "model_id": Path(weights).name,
            "weights": weights,
            "n_ctx": n_ctx,
            "context_window_limit": n_ctx,
            "threads": threads,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "max_tool_calls": 3,
            "tool_plan": [],
        }
        self.progress = progress
        self.template = prompt.template_for(weights)
        # The tools of the last step call. Strands' forced structured-output retry offers only
        # the forced tool; listing the same tools as before keeps the prompt's prefix identical,
        # so llama.cpp reuses its cache instead of re-reading the whole conversation.
        self._last_tools: list[ToolSpec] = []

    @property
    def engine(self) -> Engine:
        """The shared engine for these weights."""
        settings = EngineSettings(n_ctx=self.config["n_ctx"], threads=self.config["threads"])
        return get_engine(self.config["weights"], settings, self.progress)

    @property
    def busy(self) -> bool:
        """True while a generation is queued or running on this model's engine."""
        return self.engine.busy

    async def load(self) -> Path:
        """Assemble the weights if needed and load the model now; return the weights path."""
        return await self.engine.load(self.progress)

    async def warm(self, system_prompt: str, tool_specs: Sequence[ToolSpec]) -> int:
        """Read an app's fixed prompt prefix now, so its first request finds it in the cache.

        The prefix is the system turn exactly as a step call writes it (system prompt and tool
        list); later requests that start with it skip reading it. Returns the prompt tokens read
        (0 when the template has no system turn to cache on its own).
        """
        if self.template.system_role is None:
            return 0
        system = f"{system_prompt}\n\n{prompt.tools_section(tool_specs)}"
        text = self.template.turn(self.template.system_role, system)
        request = {"prompt": text, "max_tokens": 1, "cache_prompt": True, "temperature": 0.0}
        tokens = 0
        async with aclosing(self.engine.stream(request, None)) as chunks:
            async for chunk in chunks:
                tokens = int((chunk.get("timings") or {}).get("prompt_n", tokens))
        logger.info("weights=%s prompt_n=%d | prompt prefix cached", self.engine.weights, tokens)
        return tokens

    def update_config(self, **model_config: Any) -> None:
        """Update settings; a new ``weights`` also picks its template."""
        self.config.update(model_config)  # type: ignore[typeddict-item]
        self.template = prompt.template_for(self.config["weights"])

    def get_config(self) -> LocalConfig:
        """The current settings."""
        return self.config

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        cancel_signal: threading.Event | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Generate one reply as Bedrock-shaped stream events.

        Args:
            messages: The conversation.
            tool_specs: Tools the model may call (emulated with JSON steps).
            system_prompt: System prompt text.
            tool_choice: ``{"tool": {"name": X}}`` forces a call of X; ``{"any": {}}`` some call.
            cancel_signal: Stops generation at the next token once set.
            **kwargs: Other Strands arguments (``system_prompt_content`` is used when no
                ``system_prompt`` is given).

        Yields:
            ``messageStart``, content block events, ``messageStop``, then ``metadata``.

        Raises:
            ModelError: The engine failed or did not apply the output schema.
            ContextWindowOverflowException: The conversation does not fit ``n_ctx``.
        """
        system = prompt.system_text(system_prompt, kwargs.get("system_prompt_content"))
        call = self._plan(messages, tool_specs or [], system, tool_choice)
        logger.debug("kind=%s prompt_chars=%d | local model call", call.kind, len(call.prompt))
        started = time.monotonic()
        yield {"messageStart": {"role": "assistant"}}
        final: dict[str, Any] | None = {} if call.kind == "planned" else None  # nothing to run
        if final is None:
            async with aclosing(self.engine.stream(self._request(call), cancel_signal)) as chunks:
                async for chunk in chunks:
                    for event in self._decode(call, chunk):
                        yield event  # type: ignore[misc]
                    final = chunk if _finish_reason(chunk) else final
        if final is None:
            if cancel_signal is not None and cancel_signal.is_set():
                return  # Strands reports the cancellation itself
            raise ModelError("the local model stopped without finishing its reply")
        for event in call.decoder.finish(_finish_reason(final)):
            yield event  # type: ignore[misc]
        _log_timings(call.kind, final)
        yield _metadata(final, started)

    async def structured_output(
        self,
        output_model: type[T],
        prompt: Messages,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Constrain the reply to ``output_model``'s schema (the deprecated Strands path).

        Yields:
            The stream events, then ``{"output": instance}``.
        """
        from strands.tools.structured_output.structured_output_utils import (
            convert_pydantic_to_tool_spec,
        )

        spec = convert_pydantic_to_tool_spec(output_model)
        forced: Any = {"tool": {"name": spec["name"]}}
        pieces: list[str] = []
        async for event in self.stream(prompt, [spec], system_prompt, tool_choice=forced, **kwargs):
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            pieces.append(delta.get("toolUse", {}).get("input", ""))
            yield event  # type: ignore[misc]
        yield {"output": output_model.model_validate_json("".join(pieces))}

    def _plan(
        self, messages: Messages, specs: list[ToolSpec], system: str, tool_choice: ToolChoice | None
    ) -> _Call:
        choice: dict[str, Any] = dict(tool_choice or {})  # type: ignore[arg-type]
        if forced := choice.get("tool", {}).get("name"):
            return self._forced_call(messages, specs, system, str(forced))
        if not specs:
            text = prompt.render(self.template, system, prompt.conversation(messages, steps=False))
            return _Call("text", text, None, steps.TextDecoder())
        planned = _next_planned(messages, specs, self.config.get("tool_plan") or [])
        if planned is not None and "input" in planned:
            self._last_tools = list(specs)
            decoder = steps.PlannedDecoder(str(planned["name"]), planned["input"])
            return _Call("planned", "", None, decoder)
        if planned is not None:
            return self._step_call(messages, specs, system, answer=False, only=planned["name"])
        return self._step_call(messages, specs, system, answer="any" not in choice)

    def _forced_call(
        self, messages: Messages, specs: list[ToolSpec], system: str, name: str
    ) -> _Call:
        spec = next((s for s in specs if s["name"] == name), None)
        if spec is None:
            raise ModelError(f"tool_choice names {name!r}, which is not among the tools offered")
        if any(s["name"] == name for s in self._last_tools):
            system = f"{system}\n\n{prompt.tools_section(self._last_tools)}"
        turns = _with_note(
            prompt.conversation(messages, steps=True), prompt.forced_instruction(spec)
        )
        text = prompt.render(self.template, system, turns)
        return _Call("forced", text, steps.forced_schema(spec), steps.ForcedDecoder(name))

    def _step_call(
        self,
        messages: Messages,
        specs: list[ToolSpec],
        system: str,
        answer: bool,
        only: str | None = None,
    ) -> _Call:
        self._last_tools = list(specs)
        system = f"{system}\n\n{prompt.tools_section(specs)}"
        turns = prompt.conversation(messages, steps=True)
        offered: Sequence[ToolSpec] = specs
        if only is not None:
            offered = [s for s in specs if s["name"] == only]
        elif answer and _enough_tools(messages, self.config["max_tool_calls"]):
            offered, turns = [], _with_note(turns, prompt.ENOUGH_TOOLS)
        limit = PLANNED_MESSAGE_CHARS if only is not None else None
        schema = steps.step_schema(offered, answer=answer, message_chars=limit)
        text = prompt.render(self.template, system, turns)
        return _Call("step", text, schema, steps.StepDecoder())

    def _request(self, call: _Call) -> dict[str, Any]:
        request: dict[str, Any] = {
            "prompt": call.prompt,
            "max_tokens": self.config["max_tokens"],
            "temperature": self.config["temperature"],
            "stop": self.template.stop,
            "cache_prompt": True,
            "return_progress": True,
        }
        if call.schema is not None:
            request["json_schema"] = call.schema
        return request

    def _decode(self, call: _Call, chunk: Mapping[str, Any]) -> list[steps.Event]:
        if isinstance(report := chunk.get("prompt_progress"), Mapping):
            return [_prompt_progress(report)]
        text = "".join(choice.get("text") or "" for choice in chunk.get("choices", []))
        try:
            return call.decoder.feed(text)
        except steps.NotJsonOutput as exc:
            raise ModelError(
                f"the output schema was not applied ({call.kind} call): {exc}"
            ) from exc


def _finish_reason(chunk: Mapping[str, Any]) -> str | None:
    choices = chunk.get("choices") or [{}]
    reason = choices[0].get("finish_reason")
    return str(reason) if reason else None


def _prompt_progress(report: Mapping[str, Any]) -> steps.Event:
    """A Strands stream chunk carrying the engine's prompt-processing counts."""
    progress = {
        "processed": int(report.get("processed", 0)),
        "total": int(report.get("total", 0)),
        "cached": int(report.get("cache", 0)),
    }
    return {"promptProgress": progress}


def _next_planned(
    messages: Messages, specs: Sequence[ToolSpec], plan: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The first ``plan`` item whose tool is offered and not yet called in the current turn."""
    called = set(_turn_calls(messages))
    offered = {spec["name"] for spec in specs}
    for item in plan:
        name = item.get("name")
        if name in offered and name not in called:
            return item
    return None


def _turn_calls(messages: Messages) -> list[str]:
    """Names of the tools called since the user's message that opened the current turn."""
    names: list[str] = []
    for message in reversed(messages):
        content = message.get("content", [])
        if message.get("role") == "user" and any("text" in block for block in content):
            break
        names += [block["toolUse"]["name"] for block in content if "toolUse" in block]
    return names


def _metadata(final: Mapping[str, Any], started: float) -> StreamEvent:
    usage = final.get("usage", {})
    prompt_tokens, output_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "metadata": {
            "usage": {
                "inputTokens": prompt_tokens,
                "outputTokens": output_tokens,
                "totalTokens": prompt_tokens + output_tokens,
            },
            "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)},
        }
    }


def _log_timings(kind: str, final: Mapping[str, Any]) -> None:
    t = final.get("timings") or {}
    logger.debug(
        "kind=%s prompt_n=%s cached_n=%s prompt_tps=%.1f gen_n=%s gen_tps=%.1f | model call done",
        kind,
        t.get("prompt_n"),
        t.get("cache_n"),
        t.get("prompt_per_second", 0.0),
        t.get("predicted_n"),
        t.get("predicted_per_second", 0.0),
    )


def _with_note(turns: list[tuple[str, str]], note: str) -> list[tuple[str, str]]:
    """``turns`` with ``note`` appended to the last user turn (or as a new one)."""
    if turns and turns[-1][0] == "user":
        return [*turns[:-1], ("user", f"{turns[-1][1]}\n\n{note}")]
    return [*turns, ("user", note)]


def _enough_tools(messages: Messages, limit: int) -> bool:
    """Whether the current turn already has ``limit`` tool calls, or repeats one."""
    calls: list[str] = []
    for message in reversed(messages):
        content = message.get("content", [])
        if message.get("role") == "user" and any("text" in block for block in content):
            break  # the user's message that opened this turn
        for block in content:
            if "toolUse" in block:
                use = block["toolUse"]
                calls.append(json.dumps([use["name"], use.get("input")], sort_keys=True))
    return len(calls) >= limit or len(calls) != len(set(calls))
