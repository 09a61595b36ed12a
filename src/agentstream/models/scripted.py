"""A deterministic model that plays scripted turns: text, tool calls, errors and delays.

Used by tests and demos. Each call to ``stream`` plays the next turn. A turn is a list of steps,
or a callable ``(messages, tool_specs, tool_choice) -> steps`` so a script can react to tool
results. Steps:

- ``{"text": "..."}``: streamed as several small deltas (split on word boundaries);
- ``{"tool": name, "input": {...}}``: one tool call, its input streamed in word-sized pieces;
- ``{"sleep": seconds}``: a pause;
- ``{"error": "message"}``: the model fails with :class:`ScriptedModelError`;
- ``{"stop": reason}``: the reply ends with that stop reason (e.g. ``"max_tokens"``).

Between deltas the model honours ``delay`` (seconds per delta) and stops when the cancel signal
passed by the agent is set.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, TypeAlias

from strands.models import Model

from agentstream.models.engine import ModelError

Step: TypeAlias = dict[str, Any]
Turn: TypeAlias = Sequence[Step] | Callable[..., Sequence[Step]]

_WORDS = re.compile(r"\S+\s*|\s+")
_ids = itertools.count(1)


class ScriptedModelError(ModelError):
    """A scripted ``{"error": ...}`` step."""

    code = "model_error"


def split_text(text: str) -> list[str]:
    """Split ``text`` into word-sized deltas that concatenate back to it."""
    return _WORDS.findall(text) or [text]


class ScriptedModel(Model):
    """Plays ``turns`` in order, one per model call; the last turn repeats if more are asked."""

    def __init__(self, turns: Sequence[Turn], *, delay: float = 0.0, **config: Any) -> None:
        """Play ``turns``, waiting ``delay`` seconds before each streamed delta."""
        self.turns = list(turns)
        self.delay = delay
        self.config: dict[str, Any] = dict(config)
        self.calls = 0

    def update_config(self, **model_config: Any) -> None:
        """Merge ``model_config`` into the config."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The config."""
        return self.config

    async def structured_output(
        self, output_model: Any, prompt: Any, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Not used: structured output goes through a forced tool call in ``stream``."""
        raise NotImplementedError("ScriptedModel streams structured output as a tool call")
        yield {}  # pragma: no cover

    async def stream(  # type: ignore[override]
        self,
        messages: Any,
        tool_specs: Any = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield Bedrock-shaped stream events for the next turn."""
        turn = self.turns[min(self.calls, len(self.turns) - 1)]
        self.calls += 1
        steps = turn(messages, tool_specs, tool_choice) if callable(turn) else turn
        cancel = kwargs.get("cancel_signal")
        yield {"messageStart": {"role": "assistant"}}
        stop_reason = "end_turn"
        for index, step in enumerate(steps):
            async for event in self._step(index, step, cancel):
                yield event
            if "tool" in step:
                stop_reason = "tool_use"
            stop_reason = str(step.get("stop", stop_reason))
            if cancel is not None and cancel.is_set():
                break
        yield {"messageStop": {"stopReason": stop_reason}}
        yield {
            "metadata": {
                "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
                "metrics": {"latencyMs": 0},
            }
        }

    async def _step(
        self, index: int, step: Step, cancel: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        if "stop" in step:
            return
        if "sleep" in step:
            await asyncio.sleep(float(step["sleep"]))
        elif "error" in step:
            raise ScriptedModelError(str(step["error"]))
        elif "text" in step:
            yield {"contentBlockStart": {"contentBlockIndex": index, "start": {}}}
            for delta in split_text(str(step["text"])):
                if cancel is not None and cancel.is_set():
                    break
                await asyncio.sleep(self.delay)  # also yields to the loop between deltas
                yield {"contentBlockDelta": {"contentBlockIndex": index, "delta": {"text": delta}}}
            yield {"contentBlockStop": {"contentBlockIndex": index}}
        elif "tool" in step:
            tool_use = {"toolUseId": f"tooluse_{next(_ids)}", "name": step["tool"]}
            yield {
                "contentBlockStart": {"contentBlockIndex": index, "start": {"toolUse": tool_use}}
            }
            # The input streams in word-sized pieces, as a real model writes it.
            for piece in split_text(json.dumps(step.get("input", {}), ensure_ascii=False)):
                if cancel is not None and cancel.is_set():
                    break
                await asyncio.sleep(self.delay)
                yield {
                    "contentBlockDelta": {
                        "contentBlockIndex": index,
                        "delta": {"toolUse": {"input": piece}},
                    }
                }
            yield {"contentBlockStop": {"contentBlockIndex": index}}
        else:
            raise ValueError(f"unknown scripted step: {step!r}")
