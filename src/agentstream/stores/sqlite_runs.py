"""Many runs' recording in a few SQL statements: the SQLite half of ``record_runs``.

(And of ``record_connections``: every socket's row in one statement per batch.)

Why set-based: under load each statement the store's thread runs hands the GIL to the event loop
and back (``sqlite3`` releases it around every step), so a thousand short streams paid for
statements, not for rows. Here a whole batch of runs is a handful of statements whatever its
size: one multi-row ``INSERT`` for the new headers, one ``SELECT`` for the runs' expiry, one
multi-row ``INSERT`` for their rows and one ``UPDATE`` per end state (each chunked to SQLite's
bound on variables).

Per-run outcomes are kept: a run unknown or expired fails with NotFound, a row already stored
with other text with Conflict (its earlier rows may stay, as ``append_events`` allows), and a run
that failed never gets its end state. Nothing here needs a savepoint: every statement either
applies whole or, failing, leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from agentstream.stores.errors import Conflict, NotFound
from agentstream.stores.rows import RunRow

T = TypeVar("T")
# Rows per multi-row statement at most: big enough to make a batch a few statements, small
# enough that the statement compiles fast.
MAX_ROWS: Final = 256
_RUN_COLS: Final = "run_id, owner, app, state, created_at, updated_at, expires_at, meta"


@dataclass(frozen=True, slots=True)
class RunJob:
    """One run's checked part of a batch (``index`` is its place in the caller's list)."""

    index: int
    run_id: str
    header: tuple[RunRow, str] | None  # the row and its meta text, for a run's first batch
    events: list[tuple[int, str]]
    state: str | None


def record_runs(
    conn: sqlite3.Connection, jobs: list[RunJob], now: float
) -> list[tuple[int, BaseException]]:
    """Apply the jobs (in the caller's transaction); returns the failed ones and why."""
    failed: dict[str, tuple[int, BaseException]] = {}
    _insert_headers(conn, [job.header for job in jobs if job.header is not None])
    # A run whose header this batch wrote is there; only older runs are looked up (a SELECT
    # costs a step per row it returns). Retried, its header may be an earlier try's, expiring
    # a few seconds before the rows: harmless.
    expiry = {job.run_id: job.header[0].expires_at for job in jobs if job.header is not None}
    wanted = [job.run_id for job in jobs if job.header is None and (job.events or job.state)]
    expiry.update(_expiry(conn, wanted, now))
    for job in jobs:
        if (job.events or job.state is not None) and job.run_id not in expiry:
            failed[job.run_id] = (job.index, NotFound(f"run {job.run_id} not found"))
    rows = [
        (job.run_id, seq, text, expiry[job.run_id])
        for job in jobs
        if job.run_id not in failed
        for seq, text in job.events
    ]
    index = {job.run_id: job.index for job in jobs}
    for run_id, error in _insert_rows(conn, rows):
        failed.setdefault(run_id, (index[run_id], error))
    ending: dict[str, list[str]] = {}
    for job in jobs:
        if job.state is not None and job.run_id not in failed:
            ending.setdefault(job.state, []).append(job.run_id)
    for state, run_ids in ending.items():
        for chunk in _chunks(conn, run_ids, 1):
            sql = f"""UPDATE runs SET state = ?, updated_at = ?
                      WHERE expires_at > ? AND run_id IN ({_marks(len(chunk))})"""
            conn.execute(sql, (state, now, now, *chunk))
    return list(failed.values())


def record_connections(
    conn: sqlite3.Connection,
    puts: list[tuple[str, str, float, float, str]],
    deletes: list[str],
) -> None:
    """Upsert ``puts`` (conn_id, user_id, connected_at, expires_at, meta), then delete."""
    for chunk in _chunks(conn, puts, 5, reserved=0):
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
        sql = f"""INSERT INTO connections (conn_id, user_id, connected_at, expires_at, meta)
                  VALUES {values} ON CONFLICT (conn_id) DO UPDATE SET
                  user_id = excluded.user_id, connected_at = excluded.connected_at,
                  expires_at = excluded.expires_at, meta = excluded.meta"""
        conn.execute(sql, [value for row in chunk for value in row])
    for ids in _chunks(conn, deletes, 1, reserved=0):
        conn.execute(f"DELETE FROM connections WHERE conn_id IN ({_marks(len(ids))})", ids)


def _insert_headers(conn: sqlite3.Connection, headers: list[tuple[RunRow, str]]) -> None:
    """Create the runs; one already there is left as it is (run ids are unique per run)."""
    for chunk in _chunks(conn, headers, 8):
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        sql = f"INSERT INTO runs ({_RUN_COLS}) VALUES {values} ON CONFLICT (run_id) DO NOTHING"
        params: list[Any] = []
        for row, meta in chunk:
            params += (row.run_id, row.owner, row.app, row.state, row.created_at)
            params += (row.updated_at, row.expires_at, meta)
        conn.execute(sql, params)


def _expiry(conn: sqlite3.Connection, run_ids: list[str], now: float) -> dict[str, float]:
    """The expiry of each of ``run_ids`` that exists and has not expired."""
    found: dict[str, float] = {}
    for chunk in _chunks(conn, run_ids, 1, reserved=1):
        sql = f"""SELECT run_id, expires_at FROM runs
                  WHERE expires_at > ? AND run_id IN ({_marks(len(chunk))})"""
        found.update(conn.execute(sql, (now, *chunk)).fetchall())
    return found


def _insert_rows(
    conn: sqlite3.Connection, rows: list[tuple[str, int, str, float]]
) -> Iterator[tuple[str, BaseException]]:
    """Insert the rows; yields (run_id, Conflict) for a seq already stored with other text."""
    for chunk in _chunks(conn, rows, 4):
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        sql = f"""INSERT INTO run_events (run_id, seq, data, expires_at) VALUES {values}
                  ON CONFLICT (run_id, seq) DO NOTHING"""
        inserted = conn.execute(sql, [value for row in chunk for value in row]).rowcount
        if inserted < len(chunk):  # some were there already: a retry (same text) or a forgery
            yield from _conflicts(conn, chunk)


def _conflicts(
    conn: sqlite3.Connection, rows: Sequence[tuple[str, int, str, float]]
) -> Iterator[tuple[str, BaseException]]:
    sql = "SELECT data FROM run_events WHERE run_id = ? AND seq = ?"
    for run_id, seq, text, _ in rows:
        (stored,) = conn.execute(sql, (run_id, seq)).fetchone()
        if stored != text:
            yield run_id, Conflict(f"run {run_id} seq {seq} is already stored with different data")


def _chunks(
    conn: sqlite3.Connection, items: Sequence[T], width: int, reserved: int = 3
) -> Iterator[Sequence[T]]:
    """``items`` in slices whose ``width`` variables each (plus ``reserved``) fit one statement."""
    room = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - reserved
    size = max(1, min(MAX_ROWS, room // width))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(count: int) -> str:
    return ", ".join(["?"] * count)
