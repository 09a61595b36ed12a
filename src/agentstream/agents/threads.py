"""Where chat apps keep conversations: the gateway's store, one thread per user and chat.

The gateway opens the store and puts it in ``ctx.services.store``. When it has none (a
server started with ``--store none``, or a handler called outside a gateway), :func:`app_store`
opens a throwaway in-memory SQLite store once per gateway, so the app still works; nothing then
outlives the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from agentstream.gateway.context import ReplyContext

logger = logging.getLogger(__name__)


async def _open_in_memory() -> Any:
    from agentstream.stores import open_store

    store = open_store("sqlite://:memory:")
    await store.open()
    logger.warning("no store configured: conversations are kept in memory only")
    return store


async def app_store(ctx: ReplyContext) -> Any:
    """The gateway's store, or an in-memory one when the gateway has none."""
    services = ctx.services
    if services.store is not None:
        return services.store
    if services.fallback_store is None:
        services.fallback_store = asyncio.ensure_future(_open_in_memory())
    # Kept apart from ``store``: the gateway records runs in ``services.store`` when set.
    return await asyncio.shield(services.fallback_store)


def thread_id(app: str, user: str, key: str) -> str:
    """A store thread id for ``user``'s conversation ``key`` (hashed: ids are free-form)."""
    digest = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()[:32]
    return f"{app}/{digest}"
