"""SQLite specifics: WAL, synchronous, in-memory use, and a busy file (not a hang)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from agentstream.stores import (
    StoreUnavailable,
    open_store,
)
from agentstream.stores.sqlite import SQLiteStore


async def test_wal_and_synchronous(tmp_path: Path) -> None:
    """The file is in WAL mode with synchronous=FULL by default, NORMAL on request."""
    for query, level in (("", 2), ("?synchronous=normal", 1)):
        store = open_store(f"sqlite://{tmp_path / 'a.db'}{query}")
        async with store:
            assert isinstance(store, SQLiteStore)
            assert await store.run(_pragma, "journal_mode") == "wal"
            assert await store.run(_pragma, "synchronous") == level


def _pragma(conn: sqlite3.Connection, name: str) -> object:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_memory_store(tmp_path: Path) -> None:
    """sqlite://:memory: works for throwaway use."""
    async with open_store("sqlite://:memory:") as store:
        assert await store.append_message("t", {"n": 1}) == 1


async def test_busy_file_is_unavailable(tmp_path: Path) -> None:
    """A write lock held by another process gives StoreUnavailable, not a hang."""
    path = tmp_path / "a.db"
    async with open_store(f"sqlite://{path}?busy_timeout_ms=200") as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.append_message("t", {"n": 1})
            assert time.monotonic() - started < 5
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
