"""Plumbing every backend shares: the clock, limits, creation stamps, ``async with``.

The store is split by noun: :mod:`~agentstream.stores.errors` (the error tree),
:mod:`~agentstream.stores.rows` (what comes back), :mod:`~agentstream.stores.protocols` (what a
store offers, per noun and as the union :class:`~agentstream.stores.protocols.Store`) and
:mod:`~agentstream.stores.validation` (the checks all backends run). Backends (``sqlite.py``,
``dynamodb.py``) subclass :class:`BaseStore`; one contract suite in
``tests/stores/test_contract.py`` runs against each.

Users are opaque strings: today a client-generated id, later the subject of a real identity. The
store never interprets them, so an authenticated id drops in without a schema change.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, cast

from agentstream.runs.state import RunState
from agentstream.stores.errors import Conflict

# Re-exported: code written before the split imports the union protocol from here.
from agentstream.stores.protocols import Store as Store
from agentstream.stores.rows import ConnectionWrite, Limits, RunRow, RunWrite
from agentstream.stores.validation import check_id, check_page, check_state, check_ttl


class BaseStore:
    """Shared plumbing: clock, limits, monotonic creation stamps, async context manager."""

    def __init__(
        self, *, limits: Limits | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        """Set the limits and the clock (injectable so tests can move time)."""
        self.limits = limits or Limits()
        self._clock = clock or time.time
        self._last_us = 0

    async def open(self) -> None:  # pragma: no cover - overridden
        """Open the backend."""
        raise NotImplementedError

    async def close(self) -> None:  # pragma: no cover - overridden
        """Close the backend."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        """Open the store."""
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""
        await self.close()

    def now(self) -> float:
        """The store's clock, in Unix epoch seconds."""
        return self._clock()

    def expiry(self, ttl_s: object) -> float:
        """When something stored now with ``ttl_s`` expires: whole epoch seconds, rounded up.

        Whole seconds because DynamoDB's TTL attribute is integer epoch seconds; every backend
        rounds the same way so the contract suite sees the same expiry everywhere.
        """
        return float(math.ceil(self.now() + check_ttl(ttl_s)))

    def new_run_row(
        self,
        run_id: str,
        owner: str,
        app: str,
        state: RunState,
        ttl_s: float,
        meta: Mapping[str, Any] | None,
    ) -> RunRow:
        """A checked run header created now (ids, state and TTL validated), for ``put_run``."""
        now = self.now()
        return RunRow(
            check_id("run_id", run_id),
            check_id("owner", owner),
            check_id("app", app),
            check_state(state),
            now,
            now,
            self.expiry(ttl_s),
            dict(meta or {}),
        )

    async def record_connections(self, puts: list[ConnectionWrite], deletes: list[str]) -> None:
        """Make each put and then each delete with the store's own calls, concurrently."""
        store = cast(Store, self)
        await asyncio.gather(
            *(
                store.put_connection(p.conn_id, p.user_id, p.connected_at, p.ttl_s, p.meta)
                for p in puts
            )
        )
        await asyncio.gather(*(store.delete_connection(conn_id) for conn_id in deletes))

    async def record_runs(self, writes: list[RunWrite]) -> list[BaseException | None]:
        """Apply each write with the store's own calls, the writes concurrently.

        Backends that can do better (one transaction, one pipeline) override this. A write is
        not atomic here: a retry of one that failed half-way rewrites the same rows (a no-op)
        and finds its header there (left as it is).
        """
        outcomes = await asyncio.gather(
            *(self._record_run(write) for write in writes), return_exceptions=True
        )
        return [outcome if isinstance(outcome, BaseException) else None for outcome in outcomes]

    async def _record_run(self, write: RunWrite) -> None:
        store = cast(Store, self)  # every backend implements the run log's calls
        if write.create:
            try:
                await store.put_run(write.run_id, write.owner, write.app, ttl_s=write.ttl_s)
            except Conflict:
                pass  # run ids are unique: an earlier try of this write created it
        if write.events:
            await store.append_events(write.run_id, write.events)
        if write.state is not None:
            await store.set_run_state(write.run_id, write.state)

    def stamp_us(self) -> int:
        """A creation time in microseconds, strictly increasing within this store.

        Why: two records saved in the same microsecond (or under a frozen test clock) must still
        list in the order they were saved.
        """
        self._last_us = max(self._last_us + 1, int(self._clock() * 1_000_000))
        return self._last_us

    def page_limit(self, limit: int) -> int:
        """Check a listing's ``limit`` against ``limits.max_page``."""
        return check_page(limit, self.limits.max_page)
