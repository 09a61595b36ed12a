"""What the seed apps' dialects share: a body per event, plus ``runId`` and ``seq``.

Each seed dialect only says how an event's body looks in its wire format; :class:`SeedDialect`
adds the envelope every frame carries and the error shape for errors that belong to no run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from agentstream.protocol.control import Control
from agentstream.protocol.dialects import plain_control
from agentstream.protocol.events import Event

Body = Callable[[Event], dict[str, Any]]


def tool_input(arguments: str) -> Any:
    """Tool arguments as JSON, or the raw text when they are not JSON (never dropped)."""
    try:
        return orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return arguments


class SeedDialect:
    """A dialect made of a body function; frames get ``runId`` and ``seq`` added."""

    def __init__(self, name: str, body: Body) -> None:
        """Render events with ``body`` under the dialect name ``name``."""
        self.name = name
        self._body = body

    def render(self, event: Event) -> dict[str, Any]:
        """The frame for ``event``."""
        frame = self._body(event)
        frame["runId"] = event.run_id
        frame["seq"] = event.seq
        return frame

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """``{"type":"error","message":…,"code":…}`` for an error that belongs to no run."""
        return {"type": "error", "message": message, "code": code, **extra}

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer: errors as ``render_error``, the rest as plain frames."""
        return plain_control(self, control)
