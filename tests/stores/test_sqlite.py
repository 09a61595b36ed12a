"""SQLite specifics: the file location, migrations, WAL, and crash safety under ``kill -9``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from agentstream.stores import (
    InvalidRecord,
    StoreError,
    StoreUnavailable,
    default_path,
    open_store,
    sqlite_schema,
)
from agentstream.stores.sqlite import SQLiteStore


def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Run one query on a separate plain connection."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


async def test_fresh_db_is_migrated(tmp_path: Path) -> None:
    """A new file gets every migration and records the schema version."""
    path = tmp_path / "deep" / "dir" / "a.db"
    async with open_store(f"sqlite://{path}"):
        pass
    assert raw(path, "SELECT version FROM schema_version") == [(len(sqlite_schema.MIGRATIONS),)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"connections", "runs", "run_events", "messages"} <= tables
    assert "calls" not in tables  # CalledIt's, created by the app on first use


async def test_reopen_keeps_data_and_version(tmp_path: Path) -> None:
    """Reopening a migrated file changes nothing and keeps what was written."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url) as store:
        await store.append_message("t", {"n": 1})
    async with open_store(url) as store:
        assert await store.read_messages("t") == [{"n": 1}]
    assert raw(tmp_path / "a.db", "SELECT COUNT(*) FROM schema_version") == [(1,)]


async def test_new_migration_applies_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration added in a later release runs once, in order, on the next open."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url):
        pass
    extra = ("CREATE TABLE extra (x INTEGER)", "INSERT INTO extra VALUES (42)")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, extra))
    async with open_store(url):
        pass
    async with open_store(url):
        pass
    assert raw(tmp_path / "a.db", "SELECT x FROM extra") == [(42,)]
    assert raw(tmp_path / "a.db", "SELECT version FROM schema_version") == [(2,)]


async def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails leaves the schema and its version untouched."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url):
        pass
    broken = ("CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="migration to version 2 failed"):
        await open_store(url).open()
    assert raw(tmp_path / "a.db", "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    assert raw(tmp_path / "a.db", "SELECT version FROM schema_version") == [(1,)]


async def test_newer_schema_refused(tmp_path: Path) -> None:
    """A file written by a newer agentstream is refused rather than misread."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url):
        pass
    with sqlite3.connect(tmp_path / "a.db") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        await open_store(url).open()


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


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default file is under $AGENTSTREAM_DATA, else $XDG_DATA_HOME/agentstream."""
    monkeypatch.setenv("AGENTSTREAM_DATA", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "agentstream.db"
    monkeypatch.delenv("AGENTSTREAM_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "agentstream" / "agentstream.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "share" / "agentstream" / "agentstream.db"


def test_open_store_default_and_bad_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No URL means the default SQLite file; malformed URLs fail naming the option."""
    monkeypatch.delenv("AGENTSTREAM_STORE", raising=False)
    monkeypatch.setenv("AGENTSTREAM_DATA", str(tmp_path))
    store = open_store(None)
    assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "agentstream.db")
    with pytest.raises(InvalidRecord, match="store.bogus"):
        open_store(f"sqlite://{tmp_path}/a.db?bogus=1")
    with pytest.raises(InvalidRecord, match="store: unknown store"):
        open_store("postgres://x")
    with pytest.raises(InvalidRecord, match="synchronous"):
        open_store(f"sqlite://{tmp_path}/a.db?synchronous=sometimes")


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
