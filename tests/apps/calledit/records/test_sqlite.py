"""CalledIt's calls in SQLite: their own schema component, files from before the move, kill -9."""

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

from agentstream.apps.calledit.records import calls_of
from agentstream.apps.calledit.records import sqlite as calls_sqlite
from agentstream.stores import StoreError, open_store, sqlite_schema

# The schema version 1 that agentstream created before calls moved to CalledIt, verbatim: the
# framework's tables and CalledIt's in one migration, versioned in schema_version alone.
LEGACY_V1 = (
    """CREATE TABLE connections (conn_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
        connected_at REAL NOT NULL, expires_at REAL NOT NULL, meta TEXT NOT NULL)""",
    "CREATE INDEX connections_by_user ON connections (user_id, expires_at)",
    "CREATE INDEX connections_by_expiry ON connections (expires_at)",
    """CREATE TABLE runs (run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, app TEXT NOT NULL,
        state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        expires_at REAL NOT NULL, meta TEXT NOT NULL)""",
    "CREATE INDEX runs_by_expiry ON runs (expires_at)",
    """CREATE TABLE run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL,
        data TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (run_id, seq))
        WITHOUT ROWID""",
    "CREATE INDEX run_events_by_expiry ON run_events (expires_at)",
    """CREATE TABLE calls (user_id TEXT NOT NULL, call_id TEXT NOT NULL, run_id TEXT,
        record TEXT NOT NULL, status TEXT NOT NULL, verification_date TEXT NOT NULL,
        created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL, verdict TEXT,
        PRIMARY KEY (user_id, call_id))""",
    "CREATE UNIQUE INDEX calls_by_user_run ON calls (user_id, run_id) WHERE run_id IS NOT NULL",
    "CREATE INDEX calls_by_user_created ON calls (user_id, created_us DESC, call_id DESC)",
    "CREATE INDEX calls_due ON calls (verification_date, created_us) WHERE status = 'pending'",
    """CREATE TABLE messages (thread_id TEXT NOT NULL, seq INTEGER NOT NULL,
        data TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (thread_id, seq))
        WITHOUT ROWID""",
)
RECORD = {
    "prediction_statement": "It will rain in Paris on 2025-12-31.",
    "verification_date": "2025-12-31",
    "verification_method": {"source": ["s"], "criteria": ["c"], "steps": ["t"]},
    "initial_status": "pending",
}


def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Run one query on a separate plain connection."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def legacy_file(path: Path, *calls: tuple[str, str, str, int]) -> None:
    """A file as the code before the move left it, holding ``(user, call, run, created_us)``."""
    with sqlite3.connect(path) as conn:
        for statement in LEGACY_V1:
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        record = (
            '{"prediction_statement":"It will rain.","verification_date":"2025-12-31",'
            '"verification_method":{"source":["s"],"criteria":["c"],"steps":["t"]},'
            '"initial_status":"pending"}'
        )
        for user, call_id, run_id, created in calls:
            conn.execute(
                "INSERT INTO calls VALUES (?, ?, ?, ?, 'pending', '2025-12-31', ?, ?, NULL)",
                (user, call_id, run_id, record, created, created),
            )


def call_schema(path: Path) -> list[tuple[object, ...]]:
    """The calls table and its indexes, as SQLite normalizes them (whitespace aside)."""
    rows = raw(path, "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'calls'")
    return sorted(
        (t, n, " ".join(str(s).replace("IF NOT EXISTS ", "").split())) for t, n, s in rows
    )


async def test_a_file_from_before_the_move_keeps_its_calls(tmp_path: Path) -> None:
    """A file written before calls moved to CalledIt opens, lists, pages and extends its calls."""
    path = tmp_path / "old.db"
    legacy_file(path, *(("u1", f"c{i}", f"r{i}", 1_000_000 + i) for i in range(3)))
    async with open_store(f"sqlite://{path}") as store:
        calls = calls_of(store)
        rows, cursor = await calls.list_calls("u1", limit=2)
        rest, end = await calls.list_calls("u1", limit=2, cursor=cursor)
        again = await calls.save_call("u1", RECORD, run_id="r1")
        new = await calls.save_call("u1", RECORD, run_id="r9")
    assert [r.call_id for r in rows + rest] == ["c2", "c1", "c0"] and end is None
    assert again.call_id == "c1"  # the run guard holds across the move: no duplicate
    assert new.call_id not in {"c0", "c1", "c2"}
    latest = len(sqlite_schema.MIGRATIONS)  # core moved on to its latest version too
    assert raw(path, "SELECT version FROM schema_version") == [(latest,)]
    assert raw(path, "SELECT component, version FROM component_versions") == [("calledit", 1)]


async def test_a_new_file_has_the_same_call_schema_as_an_old_one(tmp_path: Path) -> None:
    """CalledIt's migration builds, object for object, the calls schema older files have."""
    legacy_file(tmp_path / "old.db")
    async with open_store(f"sqlite://{tmp_path / 'new.db'}") as store:
        await calls_of(store).list_calls("u1")
    assert call_schema(tmp_path / "new.db") == call_schema(tmp_path / "old.db")
    assert len(call_schema(tmp_path / "new.db")) == 5  # table, its key index, three indexes


async def test_call_tables_appear_on_first_use_only(tmp_path: Path) -> None:
    """Opening the store creates no calls table; the first call store use does, once."""
    path = tmp_path / "a.db"
    async with open_store(f"sqlite://{path}") as store:
        assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'calls'") == []
        await calls_of(store).save_call("u1", RECORD, run_id=None)
    async with open_store(f"sqlite://{path}") as store:
        assert len((await calls_of(store).list_calls("u1"))[0]) == 1
    assert raw(path, "SELECT version FROM component_versions") == [(1,)]


async def test_a_newer_calls_schema_is_refused(tmp_path: Path) -> None:
    """A file whose calls schema is newer than this code is refused, not misread."""
    path = tmp_path / "a.db"
    async with open_store(f"sqlite://{path}") as store:
        await calls_of(store).list_calls("u1")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE component_versions SET version = 7")
    async with open_store(f"sqlite://{path}") as store:
        with pytest.raises(StoreError, match="version 7 of calledit is newer"):
            await calls_of(store).list_calls("u1")


async def test_a_new_calls_migration_applies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A calls migration added later runs once on the next use, after version 1."""
    path = tmp_path / "a.db"
    async with open_store(f"sqlite://{path}") as store:
        await calls_of(store).list_calls("u1")
    extra = ("ALTER TABLE calls ADD COLUMN tags TEXT",)
    monkeypatch.setattr(calls_sqlite, "MIGRATIONS", (*calls_sqlite.MIGRATIONS, extra))
    for _ in range(2):
        async with open_store(f"sqlite://{path}") as store:
            await calls_of(store).list_calls("u1")
    assert raw(path, "SELECT version FROM component_versions") == [(2,)]
    assert "tags" in {r[1] for r in raw(path, "PRAGMA table_info(calls)")}


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from agentstream.apps.calledit.records import calls_of
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
                row = await calls_of(store).save_call("killer", record, run_id=run)
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
            assert (await calls_of(store).get_call("killer", call_id)).user_id == "killer"
        rows, _ = await calls_of(store).list_calls("killer", limit=100)
        assert len(rows) >= min(100, len(committed))
    assert raw(db, "PRAGMA integrity_check") == [("ok",)]
