"""Serve an app inside an existing Starlette or FastAPI service, under a path prefix.

:func:`mount` builds the same ASGI app as :func:`~agentstream.gateway.app.create_app` and mounts
it, so its WebSocket, SSE and HTTP routes answer under ``prefix``. A mounted Starlette app's own
lifespan never runs (Starlette only runs the outermost one), so the gateway's startup and
shutdown (open the store; cancel the runs, close the store) are chained into the host's lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from agentstream.gateway.app import create_app
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings

__all__ = ["mount"]


def mount(
    host: Starlette,
    app: AgentApp,
    prefix: str = "/agentstream",
    settings: Settings | None = None,
) -> Starlette:
    """Mount ``app``'s routes under ``prefix`` of ``host``, sharing ``host``'s lifespan.

    Args:
        host: The existing Starlette or FastAPI application.
        app: The agentstream app to serve (its ``/ws``, ``/api/runs``… appear under ``prefix``).
        prefix: Where to mount it; a path such as ``"/agent"`` (not ``"/"``).
        settings: The gateway's settings (model, store…); defaults from the environment.

    Returns:
        The mounted ASGI app (its ``state.gateway`` holds the runs and connections).

    Raises:
        ValueError: ``prefix`` is empty, ``/`` or does not start with ``/``.
    """
    if not prefix.startswith("/") or prefix.rstrip("/") == "":
        raise ValueError(f"mount prefix must be a path like '/agent', not {prefix!r}")
    inner = create_app(app, settings)
    host.router.routes.append(Mount(prefix.rstrip("/"), app=inner))
    host.router.lifespan_context = _chain(host.router.lifespan_context, inner)
    return inner


def _chain(outer: Callable[[Any], Any], inner: Starlette) -> Callable[[Any], Any]:
    """A lifespan that runs ``outer`` (the host's), and ``inner``'s within it."""

    @contextlib.asynccontextmanager
    async def lifespan(host_app: Any) -> AsyncIterator[Any]:
        async with outer(host_app) as state, inner.router.lifespan_context(inner):
            yield state

    return lifespan
