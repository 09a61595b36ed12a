"""CalledIt's calls in the SQLite store's file, on its one writer thread.

The ``calls`` table is CalledIt's own schema component (``calledit`` in ``component_versions``).
Its version 1 is, statement for statement, what the framework's version 1 created before calls
moved here, with ``IF NOT EXISTS``: a file from before the move already has it and keeps its
calls; a new file gets the identical table and indexes.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any, Final, cast

import orjson

from agentstream.apps.calledit.records.base import CallRecords, Page, RunTaken
from agentstream.apps.calledit.records.rows import CallRow, CallStatus, Verdict, verdict_from_json
from agentstream.apps.calledit.records.validation import MAX_STAMP_US
from agentstream.stores.errors import Conflict
from agentstream.stores.sqlite import SQLiteStore
from agentstream.stores.sqlite_schema import transaction

COMPONENT: Final = "calledit"
# Each entry is one schema version of CalledIt's tables; append, never edit a released one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE IF NOT EXISTS calls (user_id TEXT NOT NULL, call_id TEXT NOT NULL,
            run_id TEXT, record TEXT NOT NULL, status TEXT NOT NULL,
            verification_date TEXT NOT NULL, created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL, verdict TEXT, PRIMARY KEY (user_id, call_id))""",
        """CREATE UNIQUE INDEX IF NOT EXISTS calls_by_user_run ON calls (user_id, run_id)
            WHERE run_id IS NOT NULL""",
        """CREATE INDEX IF NOT EXISTS calls_by_user_created
            ON calls (user_id, created_us DESC, call_id DESC)""",
        """CREATE INDEX IF NOT EXISTS calls_due ON calls (verification_date, created_us)
            WHERE status = 'pending'""",
    ),
)

_COLS: Final = "call_id, user_id, run_id, record, status, created_us, updated_us, verdict"


def _row(r: sqlite3.Row) -> CallRow:
    return CallRow(
        call_id=r[0],
        user_id=r[1],
        run_id=r[2],
        record=orjson.loads(r[3]),
        status=cast(CallStatus, r[4]),
        created_at=r[5] / 1e6,
        updated_at=r[6] / 1e6,
        verdict=verdict_from_json(r[7]),
    )


class SQLiteCalls(CallRecords):
    """Calls in a :class:`~agentstream.stores.sqlite.SQLiteStore`'s file."""

    store: SQLiteStore

    def __init__(self, store: SQLiteStore, **kwargs: Any) -> None:
        """Keep calls in ``store``'s file (``max_call_bytes=`` may be passed)."""
        super().__init__(store, **kwargs)

    async def _create_schema(self) -> None:
        await self.store.ensure_schema(COMPONENT, MIGRATIONS)

    async def _insert(self, row: CallRow, stamp: int) -> None:
        await self.store.run(_insert, row, stamp)

    async def _find(self, user_id: str, call_id: str) -> CallRow | None:
        return await self.store.run(_find, "user_id = ? AND call_id = ?", (user_id, call_id))

    async def _find_by_run(self, user_id: str, run_id: str) -> CallRow | None:
        return await self.store.run(_find, "user_id = ? AND run_id = ?", (user_id, run_id))

    async def _page(self, user_id: str, after: tuple[int, str] | None, count: int) -> Page:
        sql = f"""SELECT {_COLS} FROM calls WHERE user_id = ? AND (created_us, call_id) < (?, ?)
                  ORDER BY created_us DESC, call_id DESC LIMIT ?"""
        start = after or (MAX_STAMP_US, "")
        rows = await self.store.run(_select, sql, (user_id, *start, count))
        return [(int(r[5]), _row(r)) for r in rows]

    async def _write_verdict(
        self, user_id: str, call_id: str, verdict: Verdict, stamp: int
    ) -> CallRow | None:
        text = self.verdict_text(verdict)
        return await self.store.run(_set_verdict, user_id, call_id, verdict.status, text, stamp)

    async def _due(self, before: date, limit: int) -> list[CallRow]:
        sql = f"""SELECT {_COLS} FROM calls WHERE status = 'pending' AND verification_date <= ?
                  ORDER BY verification_date, created_us LIMIT ?"""
        rows = await self.store.run(_select, sql, (before.isoformat(), limit))
        return [_row(r) for r in rows]


# --- the synchronous halves, run on the store's thread ---------------------------------------


def _select(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _find(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> CallRow | None:
    row = conn.execute(f"SELECT {_COLS} FROM calls WHERE {where}", params).fetchone()
    return _row(row) if row else None


def _insert(conn: sqlite3.Connection, row: CallRow, stamp: int) -> None:
    """Check the run and insert in one transaction, so "one call per run" cannot race."""
    with transaction(conn):
        if row.run_id is not None:
            sql = "SELECT 1 FROM calls WHERE user_id = ? AND run_id = ?"
            if conn.execute(sql, (row.user_id, row.run_id)).fetchone():
                raise RunTaken(f"run {row.run_id} already has a call")
        sql = f"INSERT INTO calls ({_COLS}, verification_date) VALUES (?,?,?,?,?,?,?,?,?)"
        record = orjson.dumps(row.record).decode()
        params = (row.call_id, row.user_id, row.run_id, record, row.status, stamp, stamp, None)
        try:
            conn.execute(sql, (*params, row.record["verification_date"]))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"call {row.call_id} already exists") from exc


def _set_verdict(
    conn: sqlite3.Connection, user_id: str, call_id: str, status: str, verdict: str, stamp: int
) -> CallRow | None:
    with transaction(conn):
        sql = """UPDATE calls SET status = ?, verdict = ?, updated_us = ?
                 WHERE user_id = ? AND call_id = ?"""
        if conn.execute(sql, (status, verdict, stamp, user_id, call_id)).rowcount == 0:
            return None
        return _find(conn, "user_id = ? AND call_id = ?", (user_id, call_id))
