"""SQLite's schema: the write transaction, and ordered migrations per component.

The framework's tables are the ``core`` component, its version kept in ``schema_version`` (as
since the first release). An app that keeps its own records in the same file (CalledIt's calls)
migrates them as its own component, versioned in ``component_versions``, through
:meth:`~agentstream.stores.sqlite.SQLiteStore.ensure_schema`; the framework never names them.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Final

from agentstream.stores.errors import StoreError

logger = logging.getLogger(__name__)

CORE: Final = "core"
Migrations = Sequence[Sequence[str]]

# Each entry is one schema version; append a new one, never change what a released one leaves.
# Version 1 as first released also created CalledIt's ``calls`` table and indexes; they are now
# CalledIt's own component, whose version 1 creates the very same objects "IF NOT EXISTS", so a
# file from before the split keeps its calls and a new file ends with the identical schema.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
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
        """CREATE TABLE messages (thread_id TEXT NOT NULL, seq INTEGER NOT NULL,
            data TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (thread_id, seq))
            WITHOUT ROWID""",
    ),
    # Version 2: run events in an ordinary (rowid) table. A WITHOUT ROWID table keeps each row in
    # its key's B-tree, which suits small rows; run events are 0.5-2 KB (merged text) under
    # random run ids, and every insert moved them around: 107 against 24 us per run of four
    # 700-byte rows into a table of 80,000, and most of the store thread's time at 1000 streams.
    (
        """CREATE TABLE run_events_v2 (run_id TEXT NOT NULL, seq INTEGER NOT NULL,
            data TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (run_id, seq))""",
        """INSERT INTO run_events_v2 (run_id, seq, data, expires_at)
            SELECT run_id, seq, data, expires_at FROM run_events""",
        "DROP TABLE run_events",
        "ALTER TABLE run_events_v2 RENAME TO run_events",
        "CREATE INDEX run_events_by_expiry ON run_events (expires_at)",
    ),
)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; a savepoint when already in one.

    IMMEDIATE takes the write lock up front, so a read-then-write cannot be raced by another
    process and never fails half-way with SQLITE_BUSY on lock upgrade. Inside a transaction
    (the store's group commit runs every call in one) the block is a ``SAVEPOINT`` instead:
    an error undoes only the block's writes, and the outer transaction decides the commit.
    """
    if conn.in_transaction:
        with savepoint(conn):
            yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # else SQLite already rolled back (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "agentstream_tx") -> Iterator[None]:
    """``SAVEPOINT name`` ... ``RELEASE``; on any error rolled back to it, then released."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def schema_version(conn: sqlite3.Connection, component: str = CORE) -> int:
    """The version of ``component`` recorded in the database (0 when there is none)."""
    if component == CORE:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    else:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS component_versions
               (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"""
        )
        sql = "SELECT version FROM component_versions WHERE component = ?"
        row = conn.execute(sql, (component,)).fetchone()
    return int(row[0]) if row else 0


def _set_version(conn: sqlite3.Connection, component: str, version: int) -> None:
    if component == CORE:
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    else:
        sql = "INSERT OR REPLACE INTO component_versions (component, version) VALUES (?, ?)"
        conn.execute(sql, (component, version))


def migrate(
    conn: sqlite3.Connection, component: str = CORE, migrations: Migrations | None = None
) -> int:
    """Bring ``component``'s schema up to date in one transaction; returns the version reached.

    Args:
        conn: An open connection in autocommit mode (``isolation_level=None``).
        component: Whose tables: ``core`` (the framework's :data:`MIGRATIONS`) or an app's name.
        migrations: The component's versions in order; None means :data:`MIGRATIONS`.
    """
    steps = MIGRATIONS if migrations is None else migrations
    latest = len(steps)
    with transaction(conn):
        current = schema_version(conn, component)
        if current > latest:
            raise StoreError(
                f"database schema version {current} of {component} is newer than this "
                f"agentstream ({latest})"
            )
        for version in range(current + 1, latest + 1):
            _apply(conn, steps[version - 1], component, version)
            logger.info("sqlite schema | %s migrated to version %d", component, version)
        _set_version(conn, component, latest)
    return latest


def _apply(conn: sqlite3.Connection, statements: Sequence[str], component: str, v: int) -> None:
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise StoreError(f"{component} schema migration to version {v} failed: {exc}") from exc
