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
    from agentstream.gateway.context import ReplyContext, RouteContext

# The request is each route's own pydantic model, so it stays Any here (a handler taking
# ``LogCall`` is not a callable of ``BaseModel``). Run routes get a RouteContext (with the run);
# reply routes and connect hooks get a ReplyContext (no run): a reply handler annotated
# ``RouteContext`` would read ``ctx.run`` that is not there, and mypy refuses it.
RunHandler: TypeAlias = Callable[[Any, "RouteContext"], AsyncIterator[Event]]
ReplyHandler: TypeAlias = Callable[[Any, "ReplyContext"], Awaitable[dict[str, Any] | None]]
ConnectHook: TypeAlias = Callable[["ReplyContext"], Awaitable[None]]

DEFAULT_ROUTE = "$default"
BUILTIN_ACTIONS = frozenset({"cancel", "resume", "ping"})


@dataclass(frozen=True)
class Route:
    """One action an app answers."""

    action: str
    request: type[BaseModel]
    handler: RunHandler | ReplyHandler
    streams: bool


@dataclass(frozen=True)
class ChatInput:
    """How a chat client's turn becomes this app's request (``/api/agui``, ``/api/chat``).

    The last user message goes in the ``text`` field of the ``action`` route's request; when
    named, ``thread`` gets the client's thread/chat id and ``history`` the earlier turns as
    ``[{"role", "content"}]``. Other fields come from the client's extra values (AG-UI
    ``forwardedProps``, the AI SDK's ``body``), e.g. CalledIt's ``timezone``.
    """

    action: str
    text: str
    thread: str | None = None
    history: str | None = None


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
    # What AG-UI and AI SDK chat clients start (None: those endpoints answer 404).
    chat: ChatInput | None = None

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
