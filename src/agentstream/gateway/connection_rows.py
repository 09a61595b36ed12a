"""Every socket's row in the store (who is connected, for operators), written in batches.

A row is not on any socket's path: nothing in this process reads it, so one task writes the rows
of every socket that opened or closed since the last batch in one store call
(:meth:`~agentstream.stores.protocols.ConnectionStore.record_connections`). A socket that opens
and closes between two batches is never written at all. ``$connect`` hooks may look their row up,
so :meth:`ConnectionRows.written` waits for it; a row that cannot be written is logged and left to
its TTL, and the socket works without it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from agentstream.runs.batching import BatchLoop
from agentstream.stores.rows import ConnectionWrite

logger = logging.getLogger(__name__)


class ConnectionRows:
    """Puts and deletes ``store``'s connection rows in batches, one task for the process."""

    def __init__(
        self, store: Any, *, ttl_s: float, interval: float = 0.25, linger: float = 0.01
    ) -> None:
        """Write rows that expire ``ttl_s`` after they are written, every ``interval`` seconds."""
        self.store = store
        self.ttl_s = ttl_s
        self._puts: dict[str, ConnectionWrite] = {}
        self._deletes: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._batches = BatchLoop(
            self._write, self._busy, interval=interval, linger=linger, name="connection-rows"
        )

    def opened(self, conn_id: str, user: str, meta: dict[str, Any]) -> None:
        """Record the socket ``conn_id`` of ``user`` in the next batch."""
        if self._batches.start():
            self._puts, self._deletes, self._waiters = {}, [], []  # that loop is gone
        self._puts[conn_id] = ConnectionWrite(conn_id, user, time.time(), self.ttl_s, meta)

    async def written(self) -> None:
        """Wait until every row opened so far was written (or failed to be), soon."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._batches.start()
        self._batches.wake()
        await waiter

    def closed(self, conn_id: str) -> None:
        """Forget the socket ``conn_id``: never written, it is simply dropped."""
        if self._puts.pop(conn_id, None) is None:
            # Written, or in the batch being written: deleted in a later batch, never before.
            self._deletes.append(conn_id)
            self._batches.start()

    @property
    def pending(self) -> int:
        """Rows waiting for the next batch (puts and deletes)."""
        return len(self._puts) + len(self._deletes)

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait (at most ``timeout_s``) until every pending row is written."""
        return await self._batches.drain(timeout_s)

    def _busy(self) -> bool:
        return bool(self._puts or self._deletes or self._waiters)

    async def _write(self) -> None:
        puts, deletes, waiters = list(self._puts.values()), self._deletes, self._waiters
        self._puts, self._deletes, self._waiters = {}, [], []
        try:
            if puts or deletes:
                await self.store.record_connections(puts, deletes)
        except Exception:  # the sockets work without their rows, which expire by their TTL
            logger.warning(
                "store | could not record %d connections and forget %d",
                len(puts),
                len(deletes),
                exc_info=True,
            )
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
