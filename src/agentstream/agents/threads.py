"""Where chat apps keep conversations: the gateway's store, one thread per user and chat.

The gateway opens the store and puts it in ``ctx.services["store"]``. When it has none (a
server started with ``--store none``, or a handler called outside a gateway), :func:`app_store`
opens a throwaway in-memory SQLite store once per gateway, so the app still works; nothing then
outlives the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from agentstream.gateway.context import RouteContext

logger = logging.getLogger(__name__)

_OPENING = "_store_opening"


async def _open_in_memory() -> Any:
    from agentstream.stores import open_store

    store = open_store("sqlite://:memory:")
    await store.open()
    logger.warning("no store configured: conversations are kept in memory only")
    return store


async def app_store(ctx: RouteContext) -> Any:
    """The gateway's store, or an in-memory one when the gateway has none."""
    services = ctx.services if ctx.services is not None else {}
    store = services.get("store")
    if store is not None:
        return store
    opening = services.get(_OPENING)
    if opening is None:
        opening = asyncio.ensure_future(_open_in_memory())
        services[_OPENING] = opening
    # Kept under its own key: the gateway records runs in ``services["store"]`` when set.
    return await asyncio.shield(opening)


def thread_id(app: str, user: str, key: str) -> str:
    """A store thread id for ``user``'s conversation ``key`` (hashed: ids are free-form)."""
    digest = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()[:32]
    return f"{app}/{digest}"
