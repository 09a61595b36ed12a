"""What a handler is given: who is asking, the services, the settings and (for runs) the run.

A reply route gets a :class:`ReplyContext`; a run route gets a :class:`RouteContext`, which adds
its non-optional ``run``. Both are frozen: a handler reads them, the gateway makes them. The
gateway's shared objects are a typed :class:`Services`, not a dict looked up by string.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentstream.runs.registry import RunRegistry

if TYPE_CHECKING:
    import threading

    from agentstream.gateway.settings import Settings
    from agentstream.runs.run import Run
    from agentstream.stores.base import Store


@dataclass
class Services:
    """What the gateway shares with handlers.

    Attributes:
        store: The gateway's store, or None when it runs with ``--store none``.
        runs: The runs this process holds.
        evidence_tools: Outside tools a verifier may use to gather evidence.
        fallback_store: An in-memory store opened on demand when ``store`` is None
            (see :func:`agentstream.agents.threads.app_store`).
    """

    store: Store | None = None
    runs: RunRegistry = field(default_factory=RunRegistry)
    evidence_tools: tuple[Any, ...] = ()
    fallback_store: asyncio.Future[Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ReplyContext:
    """The context of a reply route and of ``$connect``/``$disconnect`` hooks."""

    connection_id: str
    user: str
    settings: Settings
    services: Services = field(default_factory=Services)
    # The action the client sent (what $default was asked for, when it catches a message).
    action: str | None = None

    def model(self, scripted: Any = None) -> Any:
        """A fresh model of the kind the server was started with.

        Args:
            scripted: the turns to play when the server runs the ``scripted`` model (a list of
                turns or a callable returning one); ignored by real models.
        """
        from agentstream.models import create_model

        return create_model(self.settings.model, scripted=scripted)


@dataclass(frozen=True, kw_only=True)
class RouteContext(ReplyContext):
    """The context of a run route: a reply context plus the run it streams into."""

    run: Run

    @property
    def cancel_signal(self) -> threading.Event:
        """The run's thread-safe cancel flag (pass it to ``Agent.stream_async``)."""
        return self.run.cancel_signal
