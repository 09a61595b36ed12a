"""SQLite specifics: the file location, migrations, WAL, and crash safety under ``kill -9``."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentstream.stores import (
    InvalidRecord,
    StoreError,
    StoreUnavailable,
    default_path,
    open_store,
)
from agentstream.stores import sqlite as sqlite_backend
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
    assert raw(path, "SELECT version FROM schema_version") == [(len(sqlite_backend.MIGRATIONS),)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"connections", "runs", "run_events", "calls", "messages"} <= tables


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
    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", (*sqlite_backend.MIGRATIONS, extra))
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
    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", (*sqlite_backend.MIGRATIONS, broken))
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
            assert await store._run(_pragma, "journal_mode") == "wal"
            assert await store._run(_pragma, "synchronous") == level


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


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from agentstream.stores import open_store

    async def main(path: str, round_: str) -> None:
        async with open_store(f"sqlite://{path}") as store:
            i = 0
            while True:
                i += 1
                record = {
                    "prediction_statement": f"call {round_}-{i} " + "x" * 1500,
                    "verification_date": "2030-01-01",
                    "verification_method": {"source": ["s"], "criteria": ["c"], "steps": ["t"]},
                }
                run = f"run-{round_}-{i}"
                await store.put_run(run, "killer", "calledit")
                events = [(n, '{"d":"%s"}' % ("y" * 200)) for n in range(1, 21)]
                await store.append_events(run, events)
                row = await store.save_call("killer", record, run_id=run)
                print(row.call_id, flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def _write_then_kill(script: Path, db: Path, round_: int) -> list[str]:
    """Run the writer, SIGKILL it mid-stream, return every call id it reported committed."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(round_)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    committed: list[str] = []
    target = random.randint(20, 80)
    while len(committed) < target:
        line = proc.stdout.readline()
        if not line:
            break
        committed.append(line.strip())
    time.sleep(random.uniform(0, 0.05))  # land the kill at an arbitrary point of a write
    os.kill(proc.pid, signal.SIGKILL)
    committed += [line.strip() for line in proc.stdout if line.strip()]
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return committed


async def test_kill_9_loses_no_committed_call(tmp_path: Path) -> None:
    """kill -9 mid-writes loses no committed call and leaves the file intact."""
    script, db = tmp_path / "writer.py", tmp_path / "crash.db"
    script.write_text(WRITER)
    committed: list[str] = []
    for round_ in range(3):
        ids = await asyncio.to_thread(_write_then_kill, script, db, round_)
        assert ids, "the writer committed nothing before the kill"
        committed += ids
    assert raw(db, "PRAGMA integrity_check") == [("ok",)]
    async with open_store(f"sqlite://{db}") as store:
        for call_id in committed:
            assert (await store.get_call("killer", call_id)).user_id == "killer"
        rows, _ = await store.list_calls("killer", limit=100)
        assert len(rows) >= min(100, len(committed))
    assert raw(db, "PRAGMA integrity_check") == [("ok",)]
