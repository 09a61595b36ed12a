"""The canonical dialect: AG-UI-shaped events with ``runId``, ``seq`` and ``ts``."""

from __future__ import annotations

from typing import Any

from agentstream.protocol.codec import to_dict
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import plain_control, register
from agentstream.protocol.events import Event


class AgentstreamDialect:
    """Frames are :func:`agentstream.protocol.codec.to_dict` of each event."""

    name = "agentstream"

    def render(self, event: Event) -> dict[str, Any]:
        """The canonical frame."""
        return to_dict(event)

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """A ``RUN_ERROR`` with no run."""
        return {"type": "RUN_ERROR", "message": message, "code": code, **extra}

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer: errors as ``render_error``, the rest as plain frames."""
        return plain_control(self, control)


DIALECT = register(AgentstreamDialect())
