"""SQLite's schema: ordered migrations per component, one transaction each, newer files refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentstream.stores import StoreError, open_store, sqlite_schema
from agentstream.stores.sqlite_schema import CORE, migrate, schema_version, transaction


def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Run one query on a separate plain connection."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain autocommit connection to a new file, as the store opens it."""
    connection = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    yield connection
    connection.close()


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


APP_V1 = (("CREATE TABLE app_items (id TEXT PRIMARY KEY)",),)
APP_V2 = (*APP_V1, ("ALTER TABLE app_items ADD COLUMN note TEXT",))


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
    latest = len(sqlite_schema.MIGRATIONS)
    assert raw(tmp_path / "a.db", "SELECT version FROM schema_version") == [(latest,)]


async def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails leaves the schema and its version untouched."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url):
        pass
    latest = len(sqlite_schema.MIGRATIONS)
    broken = ("CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, broken))
    with pytest.raises(StoreError, match=f"migration to version {latest + 1} failed"):
        await open_store(url).open()
    assert raw(tmp_path / "a.db", "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    assert raw(tmp_path / "a.db", "SELECT version FROM schema_version") == [(latest,)]


async def test_version_2_moves_run_events_to_a_rowid_table_keeping_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version-1 file's recorded runs read back the same after the move (and stay writable)."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    with monkeypatch.context() as patched:
        patched.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:1])
        async with open_store(url) as store:
            await store.put_run("r1", "u1", "app")
            await store.append_events("r1", [(1, '{"a":1}'), (2, '{"b":2}')])
    assert "WITHOUT ROWID" in str(raw(tmp_path / "a.db", "SELECT sql FROM sqlite_master"))
    async with open_store(url) as store:
        assert await store.read_events("r1") == [(1, '{"a":1}'), (2, '{"b":2}')]
        await store.append_events("r1", [(3, '{"c":3}')])
        assert [seq for seq, _ in await store.read_events("r1", 1)] == [2, 3]
    table = raw(tmp_path / "a.db", "SELECT sql FROM sqlite_master WHERE name = 'run_events'")
    assert "WITHOUT ROWID" not in str(table)
    indexes = raw(tmp_path / "a.db", "SELECT name FROM sqlite_master WHERE type = 'index'")
    assert ("run_events_by_expiry",) in indexes


async def test_newer_schema_refused(tmp_path: Path) -> None:
    """A file written by a newer agentstream is refused rather than misread."""
    url = f"sqlite://{tmp_path / 'a.db'}"
    async with open_store(url):
        pass
    with sqlite3.connect(tmp_path / "a.db") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        await open_store(url).open()


def test_an_empty_file_is_at_version_zero(conn: sqlite3.Connection) -> None:
    """Before any migration every component, core or app, is at version 0."""
    assert schema_version(conn) == 0
    assert schema_version(conn, "app") == 0


def test_migrate_reaches_the_latest_core_version_once(conn: sqlite3.Connection) -> None:
    """Core migrates to len(MIGRATIONS); running it again applies nothing and keeps one row."""
    latest = len(sqlite_schema.MIGRATIONS)
    assert migrate(conn) == latest
    assert migrate(conn) == latest
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(latest,)]


def test_an_app_component_is_versioned_apart_from_core(conn: sqlite3.Connection) -> None:
    """An app's migrations record their own version and leave core's untouched."""
    migrate(conn)
    assert migrate(conn, "app", APP_V1) == 1
    assert schema_version(conn, "app") == 1
    assert schema_version(conn, CORE) == len(sqlite_schema.MIGRATIONS)
    assert "app_items" in tables(conn)
    assert schema_version(conn, "other_app") == 0


def test_an_app_component_applies_only_its_new_versions(conn: sqlite3.Connection) -> None:
    """Version 2 of an app runs alone on a file at version 1 (version 1 is not re-run)."""
    migrate(conn, "app", APP_V1)
    conn.execute("INSERT INTO app_items (id) VALUES ('kept')")
    assert migrate(conn, "app", APP_V2) == 2
    assert conn.execute("SELECT id, note FROM app_items").fetchall() == [("kept", None)]


def test_an_app_component_newer_than_the_code_is_refused(conn: sqlite3.Connection) -> None:
    """A file whose app component is ahead of the code's migrations is refused, naming it."""
    migrate(conn, "app", APP_V2)
    with pytest.raises(StoreError, match="version 2 of app is newer"):
        migrate(conn, "app", APP_V1)


def test_a_failing_app_migration_rolls_back_its_whole_version(conn: sqlite3.Connection) -> None:
    """A broken step undoes the version's earlier steps and leaves the version where it was."""
    broken = (*APP_V1, ("CREATE TABLE app_half (x INTEGER)", "NOT SQL AT ALL"))
    with pytest.raises(StoreError, match="app schema migration to version 2 failed"):
        migrate(conn, "app", broken)
    assert "app_half" not in tables(conn)
    assert "app_items" not in tables(conn)
    assert schema_version(conn, "app") == 0


def test_transaction_commits_on_success(conn: sqlite3.Connection) -> None:
    """What a transaction block writes is there afterwards."""
    conn.execute("CREATE TABLE t (x INTEGER)")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not conn.in_transaction


def test_transaction_rolls_back_on_any_error(conn: sqlite3.Connection) -> None:
    """An exception inside the block undoes its writes and propagates."""
    conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(KeyError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise KeyError("boom")
    assert conn.execute("SELECT x FROM t").fetchall() == []
    assert not conn.in_transaction


def test_transaction_takes_the_write_lock_up_front(tmp_path: Path) -> None:
    """Inside the block another writer is locked out before the first write (BEGIN IMMEDIATE)."""
    path = tmp_path / "lock.db"
    first = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with transaction(first):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        first.close()
        other.close()


def test_a_transaction_inside_a_transaction_is_a_savepoint(conn: sqlite3.Connection) -> None:
    """Nested, a failing block undoes only its own writes and leaves the outer one open."""
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1)")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(KeyError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (3)")
        raise KeyError("boom")
    assert conn.in_transaction
    conn.execute("COMMIT")
    assert conn.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]


def test_a_nested_transaction_commits_only_with_the_outer_one(conn: sqlite3.Connection) -> None:
    """A nested block's writes go when the outer transaction rolls back."""
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("BEGIN IMMEDIATE")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT x FROM t").fetchall() == []


def test_migrate_nests_in_an_open_transaction(conn: sqlite3.Connection) -> None:
    """An app migration run inside a transaction (the store's batches) applies on its commit."""
    conn.execute("BEGIN IMMEDIATE")
    assert migrate(conn, "app", APP_V1) == 1
    conn.execute("COMMIT")
    assert schema_version(conn, "app") == 1
    assert "app_items" in tables(conn)


def test_an_error_that_ended_the_transaction_propagates_as_is(conn: sqlite3.Connection) -> None:
    """When SQLite itself rolled back (RAISE(ROLLBACK)), its error is what the caller sees."""
    conn.execute("CREATE TABLE t (x INTEGER)")
    trigger = "CREATE TRIGGER t_aborts AFTER INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'no'); END"
    conn.execute(trigger)
    for nested in (False, True):
        if nested:
            conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.IntegrityError, match="no"), transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
        assert not conn.in_transaction
