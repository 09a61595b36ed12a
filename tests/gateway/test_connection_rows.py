"""Socket rows go to a real store in shared batches; a socket gone before its batch never does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agentstream.gateway.connection_rows import ConnectionRows
from agentstream.stores import open_store
from agentstream.stores.errors import StoreUnavailable
from agentstream.stores.rows import ConnectionWrite


class Counting:
    """A real store that counts its record_connections calls (and can be down)."""

    def __init__(self, store: Any, down: bool = False) -> None:
        self.store, self.down, self.calls = store, down, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def record_connections(self, puts: list[ConnectionWrite], deletes: list[str]) -> None:
        self.calls += 1
        if self.down:
            raise StoreUnavailable("store down")
        await self.store.record_connections(puts, deletes)


async def test_many_sockets_share_one_store_call(tmp_path: Path) -> None:
    """Fifty sockets opened together are written in one call, with user and meta."""
    async with open_store(f"sqlite:///{tmp_path}/c.db") as real:
        store = Counting(real)
        rows = ConnectionRows(store, ttl_s=60, interval=0.01)
        for i in range(50):
            rows.opened(f"c{i}", "u", {"dialect": "agui"})
        assert await rows.drain(5)
        listed = await real.list_connections("u")
    assert sorted(c.conn_id for c in listed) == sorted(f"c{i}" for i in range(50))
    assert listed[0].meta == {"dialect": "agui"}
    assert store.calls == 1


async def test_a_socket_gone_before_its_batch_is_never_written(tmp_path: Path) -> None:
    """Open then close before the batch: no row, no delete, no store call."""
    async with open_store(f"sqlite:///{tmp_path}/c.db") as real:
        store = Counting(real)
        rows = ConnectionRows(store, ttl_s=60, interval=0.01)
        rows.opened("brief", "u", {})
        rows.closed("brief")
        assert rows.pending == 0
        assert await rows.drain(5)
    assert store.calls == 0


async def test_a_written_row_is_deleted_in_a_later_batch(tmp_path: Path) -> None:
    """written() returns once the row is stored; closing then deletes it."""
    async with open_store(f"sqlite:///{tmp_path}/c.db") as real:
        rows = ConnectionRows(real, ttl_s=60, interval=10)  # only wake-ups write
        rows.opened("c1", "u", {})
        await rows.written()
        assert [c.conn_id for c in await real.list_connections()] == ["c1"]
        rows.closed("c1")
        await rows.written()
        assert await real.list_connections() == []


async def test_a_store_that_fails_is_logged_and_waiters_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed batch is a warning; the socket waiting for its row is not left hanging."""
    async with open_store(f"sqlite:///{tmp_path}/c.db") as real:
        rows = ConnectionRows(Counting(real, down=True), ttl_s=60, interval=10)
        rows.opened("c1", "u", {})
        await rows.written()
        assert await real.list_connections() == []
    assert [r.levelno for r in caplog.records if "could not record" in r.getMessage()] == [
        logging.WARNING
    ]
