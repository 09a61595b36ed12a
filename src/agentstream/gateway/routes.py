"""Apps and their routes, selected API Gateway style by the ``action`` field of a message.

An :class:`AgentApp` names its routes. A *run route* starts a streamed run (the handler is an
async generator of events); a *reply route* answers once (the handler returns a JSON object).
``$default`` catches unknown actions when an app defines it; otherwise the gateway answers with an
error naming the known actions. Built-in actions (``cancel``, ``resume``) belong to the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel

from agentstream.protocol.events import Event

if TYPE_CHECKING:
    from agentstream.gateway.context import RouteContext

RunHandler: TypeAlias = Callable[[Any, "RouteContext"], AsyncIterator[Event]]
# Reply routes and connect hooks are given a ReplyContext (no run). Typed Any so handlers that
# still annotate ``ctx: RouteContext`` type-check; new code should annotate ``ReplyContext``.
ReplyHandler: TypeAlias = Callable[[Any, Any], Awaitable[dict[str, Any] | None]]
ConnectHook: TypeAlias = Callable[[Any], Awaitable[None]]

DEFAULT_ROUTE = "$default"
BUILTIN_ACTIONS = frozenset({"cancel", "resume", "ping"})


@dataclass(frozen=True)
class Route:
    """One action an app answers."""

    action: str
    request: type[BaseModel]
    handler: RunHandler | ReplyHandler
    streams: bool


@dataclass
class AgentApp:
    """An app served by the gateway: routes, wire format, page, and HTTP extras."""

    name: str
    title: str = ""
    dialect: str = "agentstream"
    static_dir: Path | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    on_connect: list[ConnectHook] = field(default_factory=list)
    on_disconnect: list[ConnectHook] = field(default_factory=list)
    http_routes: list[Any] = field(default_factory=list)
    # Paths the WebSocket API answers on (the strategy seed's client expects /ws/chat).
    ws_paths: tuple[str, ...] = ("/ws",)

    def run(self, action: str, request: type[BaseModel]) -> Callable[[RunHandler], RunHandler]:
        """Register a streaming route: ``handler(request, ctx)`` yields unstamped events."""
        return self._add(action, request, streams=True)

    def reply(
        self, action: str, request: type[BaseModel]
    ) -> Callable[[ReplyHandler], ReplyHandler]:
        """Register a request/response route: ``handler(request, ctx)`` returns a JSON object."""
        return self._add(action, request, streams=False)

    def _add(self, action: str, request: type[BaseModel], *, streams: bool) -> Callable[[Any], Any]:
        if action in BUILTIN_ACTIONS:
            raise ValueError(f"action {action!r} is built into the gateway")

        def register(handler: Any) -> Any:
            self.routes[action] = Route(action, request, handler, streams)
            return handler

        return register

    def select(self, action: object) -> Route | None:
        """The route for ``action``: its own, else ``$default``, else None."""
        if isinstance(action, str) and action in self.routes:
            return self.routes[action]
        return self.routes.get(DEFAULT_ROUTE)

    @property
    def actions(self) -> list[str]:
        """Actions a client may send, built-ins included."""
        own = [a for a in self.routes if a != DEFAULT_ROUTE]
        return sorted([*own, *BUILTIN_ACTIONS])
