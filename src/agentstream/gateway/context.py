"""What a route handler is given: who is asking, the run, the model and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentstream.gateway.settings import Settings
    from agentstream.runs.run import Run


@dataclass
class RouteContext:
    """The per-message context of a route handler."""

    connection_id: str
    user: str
    settings: Settings
    run: Run | None = None
    services: dict[str, Any] | None = None
    # The action the client sent (what $default was asked for, when it catches a message).
    action: str | None = None

    def model(self, scripted: Any = None) -> Any:
        """A fresh model for this run, of the kind the server was started with.

        Args:
            scripted: the turns to play when the server runs the ``scripted`` model (a list of
                turns or a callable returning one); ignored by real models.
        """
        from agentstream.models import create_model

        return create_model(self.settings.model, scripted=scripted)

    @property
    def cancel_signal(self) -> Any:
        """The run's thread-safe cancel flag (pass it to ``Agent.stream_async``)."""
        return self.run.cancel_signal if self.run is not None else None
