"""The title generator's wire format (seed 002), so the seed's chat client works unchanged.

The seed's client dispatches on ``type``:

- ``{"type": "progress", "step": "Generating titles...", "progress": 50}`` (we add ``stage``:
  initializing, analyzing, generating or finalizing);
- the engine's prompt-reading counts (``Custom("progress", {"stage": "prompt", …})``) in that
  same shape, inside the generating stage: ``{"type": "progress", "stage": "generating", "step":
  "Reading the prompt: 384/956 tokens...", "progress": 50..80, "processed", "total", "cached"}``.
  The seed's client shows ``step`` and ``progress`` until the first chunk and derives its stage
  from ``progress``, so the bar moves with real engine numbers and never leaves "generating";
- ``{"type": "stream_chunk", "content": …, "sessionId": <projectId>}`` as text arrives;
- ``{"type": "stream_complete", "fullContent": …, "sessionId": <projectId>}`` at the end;
- ``{"type": "error", "message": …, "code": …}`` when the run fails.

A run opens with ``{"type": "stream_start", "sessionId": …}``, which the seed's client ignores.
The titles app names its assistant messages ``<projectId>/<runId>``; ``sessionId`` on a chunk is
the part before the last ``/``. Every frame carries ``runId`` and ``seq``; one event, one frame.
"""

from __future__ import annotations

from typing import Any

from agentstream.protocol.dialects import register
from agentstream.protocol.dialects.seed import SeedDialect
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


def session_of(message_id: str) -> str:
    """The project id in a titles message id (``<projectId>/<runId>``)."""
    head, sep, _ = message_id.rpartition("/")
    return head if sep else message_id


def _started(started_with: Any) -> dict[str, Any]:
    body = started_with if isinstance(started_with, dict) else {}
    frame: dict[str, Any] = {"type": "stream_start", "sessionId": body.get("projectId")}
    if body.get("requestId") is not None:
        frame["requestId"] = body["requestId"]
    return frame


PROMPT_FROM, PROMPT_TO = 50, 80
"""The seed percentages prompt reading spans: after "generating" (50), before "finalizing" (90)."""


def _progress(value: Any) -> dict[str, Any]:
    body = value if isinstance(value, dict) else {"step": str(value)}
    if body.get("stage") == "prompt":
        return _prompt_progress(body)
    return {**body, "type": "progress"}


def _prompt_progress(counts: dict[str, Any]) -> dict[str, Any]:
    """The engine's prompt-reading counts as a seed progress frame of the generating stage."""
    processed, total = int(counts.get("processed", 0)), int(counts.get("total", 0))
    cached = int(counts.get("cached", 0))
    done = min(processed, total) / total if total > 0 else 0.0
    step = f"Reading the prompt: {processed}/{total} tokens"
    return {
        "type": "progress",
        "stage": "generating",
        "step": f"{step} ({cached} from cache)..." if cached else f"{step}...",
        "progress": PROMPT_FROM + int(done * (PROMPT_TO - PROMPT_FROM)),
        "processed": processed,
        "total": total,
        "cached": cached,
    }


def _complete(result: Any) -> dict[str, Any]:
    body = result if isinstance(result, dict) else {"fullContent": str(result or "")}
    return {
        "type": "stream_complete",
        "fullContent": body.get("fullContent", ""),
        "sessionId": body.get("sessionId"),
    }


def _body(event: Event) -> dict[str, Any]:
    match event:
        case RunStarted(input=started_with):
            return _started(started_with)
        case Custom(name="progress", value=value):
            return _progress(value)
        case TextMessageChunk(delta=delta, message_id=message_id):
            return {"type": "stream_chunk", "content": delta, "sessionId": session_of(message_id)}
        case RunFinished(result=result):
            return _complete(result)
        case RunError(message=message, code=code):
            return {"type": "error", "message": message, "code": code}
        case Custom(name=name, value=value):
            return {"type": name, "value": value}
        case StepStarted(step_name=step) | StepFinished(step_name=step):
            return {"type": "status", "status": event.type.lower(), "step": step}
        case ToolCallChunk(tool_call_name=name, delta=arguments):
            return {"type": "tool", "name": name, "input": arguments}
        case ToolCallResult(tool_call_name=name, content=content, status=status):
            return {"type": "tool_result", "name": name, "content": content, "status": status}
        case StateSnapshot(snapshot=snapshot):
            return {"type": "state", "snapshot": snapshot}
        case StateDelta(delta=delta):
            return {"type": "state_delta", "delta": delta}
    return {"type": "status", "status": event.type.lower()}


DIALECT = register(SeedDialect("titles", _body))
