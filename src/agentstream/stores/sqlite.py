"""The default store: one SQLite file, WAL mode, ordered migrations, a transaction per write.

Why ``sqlite3`` on one dedicated worker thread rather than aiosqlite: every store method runs as
*one* synchronous function on that thread, so a transaction (BEGIN ... COMMIT) can never interleave
with another coroutine's statements. With aiosqlite each statement is a separate await on a shared
connection, and two coroutines' transactions can mix unless every caller takes a lock.

Crash safety: ``journal_mode=WAL`` with ``synchronous=FULL`` by default. WAL alone (even with
NORMAL) survives ``kill -9`` of the process without losing a committed transaction, because the
commit is in the WAL file before ``COMMIT`` returns; FULL adds an fsync per commit so a committed
call also survives power loss or an OS crash. Writers that need throughput (token-rate run logs on
a laptop) can pass ``?synchronous=normal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import orjson

from agentstream.stores.base import (
    RUN_STATES,
    BaseStore,
    CallRow,
    CallStatus,
    Conflict,
    ConnectionRow,
    InvalidRecord,
    Limits,
    NotFound,
    RunRow,
    RunState,
    StoreError,
    StoreUnavailable,
    check_call_id,
    check_events,
    check_id,
    check_meta,
    decode_cursor,
    dumps,
    encode_cursor,
    validate_call_record,
    validate_verdict,
    verdict_from_json,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
# OperationalError texts that mean "cannot get at the file right now", not "bad SQL".
_UNAVAILABLE: Final = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")

# Each entry is one schema version; never edit a released entry, append a new one.
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
    ),
)

_CALL_COLS: Final = "call_id, user_id, run_id, record, status, created_us, updated_us, verdict"
_RUN_COLS: Final = "run_id, owner, app, state, created_at, updated_at, expires_at, meta"
_CONN_COLS: Final = "conn_id, user_id, connected_at, expires_at, meta"


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    IMMEDIATE takes the write lock up front, so a read-then-write cannot be raced by another
    process and never fails half-way with SQLITE_BUSY on lock upgrade.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database (0 when there is none)."""
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date in one transaction; returns the version reached."""
    latest = len(MIGRATIONS)
    with _transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = schema_version(conn)
        if current > latest:
            raise StoreError(
                f"database schema version {current} is newer than this agentstream ({latest})"
            )
        for version in range(current + 1, latest + 1):
            _apply(conn, version)
            logger.info("sqlite schema | migrated to version %d", version)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (latest,))
    return latest


def _apply(conn: sqlite3.Connection, version: int) -> None:
    try:
        for statement in MIGRATIONS[version - 1]:
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise StoreError(f"schema migration to version {version} failed: {exc}") from exc


def _conn_row(r: sqlite3.Row) -> ConnectionRow:
    return ConnectionRow(r[0], r[1], r[2], r[3], orjson.loads(r[4]))


def _run_row(r: sqlite3.Row) -> RunRow:
    return RunRow(r[0], r[1], r[2], cast(RunState, r[3]), r[4], r[5], r[6], orjson.loads(r[7]))


def _call_row(r: sqlite3.Row) -> CallRow:
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


class SQLiteStore(BaseStore):
    """A :class:`~agentstream.stores.base.Store` in one SQLite file (or ``:memory:``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        limits: Limits | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Configure the store; nothing is opened until :meth:`open`.

        Args:
            path: The database file, or ``":memory:"``.
            synchronous: ``FULL`` (default, survives power loss) or ``NORMAL`` (survives a
                process crash only; faster commits).
            busy_timeout_ms: How long to wait for another process's write lock.
            limits: Bounds on records and logs.
            clock: Epoch-seconds clock; tests pass a fake one to move time.
        """
        super().__init__(limits=limits, clock=clock)
        mode = synchronous.upper()
        if mode not in ("FULL", "NORMAL", "EXTRA"):
            raise InvalidRecord("synchronous", "must be full, normal or extra")
        self.path = str(path)
        self.synchronous = mode
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # --- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating its folder), switch to WAL and migrate."""
        if self._conn is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="agentstream-sqlite")
        try:
            self._conn = await self._submit(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        logger.info("sqlite store | opened path=%s sync=%s", self.path, self.synchronous)

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal" and self.path != ":memory:":
                raise StoreError(f"could not enable WAL on {self.path} (journal_mode={mode})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Close the connection and stop the worker thread; idempotent."""
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if conn is not None and executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        if executor is not None:
            executor.shutdown(wait=False)

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreError("store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            unavailable = isinstance(exc, sqlite3.OperationalError) and any(
                word in str(exc).lower() for word in _UNAVAILABLE
            )
            error = StoreUnavailable if unavailable else StoreError
            raise error(f"sqlite {self.path}: {exc}") from exc

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the store's thread."""
        conn = self._conn
        if conn is None:
            raise StoreError("store is not open")
        return await self._submit(functools.partial(fn, conn, *args))

    # --- connections ------------------------------------------------------------------------

    async def put_connection(
        self,
        conn_id: str,
        user_id: str,
        connected_at: float,
        ttl_s: float,
        meta: Mapping[str, Any] | None = None,
    ) -> ConnectionRow:
        """Record (or refresh) a connection that expires ``ttl_s`` seconds from now."""
        row = ConnectionRow(
            check_id("conn_id", conn_id),
            check_id("user_id", user_id),
            float(connected_at),
            self.expiry(ttl_s),
            dict(meta or {}),
        )
        meta_text = check_meta(meta, self.limits.max_meta_bytes)
        await self._run(_put_connection, row, meta_text)
        return row

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""
        sql = f"SELECT {_CONN_COLS} FROM connections WHERE conn_id = ? AND expires_at > ?"
        rows = await self._run(_select, sql, (conn_id, self.now()))
        return _conn_row(rows[0]) if rows else None

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""
        await self._run(_write, "DELETE FROM connections WHERE conn_id = ?", (conn_id,))

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""
        sql = f"SELECT {_CONN_COLS} FROM connections WHERE expires_at > ?"
        params: tuple[Any, ...] = (self.now(),)
        if user_id is not None:
            sql, params = sql + " AND user_id = ?", (*params, user_id)
        rows = await self._run(_select, sql + " ORDER BY connected_at, conn_id", params)
        return [_conn_row(r) for r in rows]

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many rows went."""
        return await self._run(_purge, self.now() if now is None else now)

    # --- runs -------------------------------------------------------------------------------

    async def put_run(
        self,
        run_id: str,
        owner: str,
        app: str,
        state: RunState = RunState.RUNNING,
        ttl_s: float = 3600,
        meta: Mapping[str, Any] | None = None,
    ) -> RunRow:
        """Create a run header; its log expires with it. Conflict if the id exists."""
        now = self.now()
        row = RunRow(
            check_id("run_id", run_id),
            check_id("owner", owner),
            check_id("app", app),
            _check_state(state),
            now,
            now,
            self.expiry(ttl_s),
            dict(meta or {}),
        )
        await self._run(_put_run, row, check_meta(meta, self.limits.max_meta_bytes))
        return row

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""
        sql = f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ? AND expires_at > ?"
        rows = await self._run(_select, sql, (run_id, self.now()))
        return _run_row(rows[0]) if rows else None

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""
        return await self._run(_set_run_state, run_id, _check_state(state), self.now())

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events, all in one transaction; same text again is a no-op."""
        batch = check_events(events, self.limits.max_events_per_run, self.limits.max_event_bytes)
        await self._run(_append_events, run_id, batch, self.now())

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""
        sql = """SELECT seq, data FROM run_events WHERE run_id = ? AND seq > ? AND expires_at > ?
                 ORDER BY seq LIMIT ?"""
        rows = await self._run(_select, sql, (run_id, after_seq, self.now(), _limit(limit)))
        return [(int(r[0]), str(r[1])) for r in rows]

    # --- calls ------------------------------------------------------------------------------

    async def save_call(
        self,
        user_id: str,
        record: Mapping[str, Any],
        *,
        run_id: str | None,
        call_id: str | None = None,
    ) -> CallRow:
        """Validate and store a call; the same ``(user_id, run_id)`` again returns the first."""
        clean = validate_call_record(record, self.limits.max_call_bytes)
        stamp = self.stamp_us()
        row = CallRow(
            call_id=check_call_id(call_id) if call_id is not None else uuid.uuid4().hex,
            user_id=check_id("user_id", user_id),
            run_id=check_id("run_id", run_id) if run_id is not None else None,
            record=clean,
            status="pending",
            created_at=stamp / 1e6,
            updated_at=stamp / 1e6,
        )
        return await self._run(_save_call, row, stamp)

    async def get_call(self, user_id: str, call_id: str) -> CallRow:
        """One of the user's calls. NotFound when unknown or someone else's."""
        return await self._run(_get_call, user_id, call_id)

    async def list_calls(
        self, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[CallRow], str | None]:
        """The user's calls newest first, and a cursor for the next page (None at the end)."""
        limit = self.page_limit(limit)
        after = decode_cursor(cursor) if cursor else (2**62, "")
        sql = f"""SELECT {_CALL_COLS} FROM calls
                  WHERE user_id = ? AND (created_us, call_id) < (?, ?)
                  ORDER BY created_us DESC, call_id DESC LIMIT ?"""
        rows = await self._run(_select, sql, (user_id, *after, limit + 1))
        calls = [_call_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        return calls, encode_cursor(rows[limit - 1][5], calls[-1].call_id) if more else None

    async def set_verdict(self, user_id: str, call_id: str, verdict: Mapping[str, Any]) -> CallRow:
        """Save ``{status, reasoning, evidence[]}`` with the call and move its status."""
        checked = validate_verdict(verdict, self.now(), self.limits.max_call_bytes)
        text = dumps(checked.to_dict(), "verdict", self.limits.max_call_bytes)
        stamp = self.stamp_us()
        return await self._run(_set_verdict, user_id, call_id, checked.status, text, stamp)

    async def due_calls(self, before: date, limit: int = 100) -> list[CallRow]:
        """Pending calls of any user whose verification_date <= ``before``, oldest date first."""
        if not isinstance(before, date):
            raise InvalidRecord("before", "must be a date")
        sql = f"""SELECT {_CALL_COLS} FROM calls WHERE status = 'pending'
                  AND verification_date <= ? ORDER BY verification_date, created_us LIMIT ?"""
        rows = await self._run(_select, sql, (before.isoformat(), self.page_limit(limit)))
        return [_call_row(r) for r in rows]

    # --- chat messages ----------------------------------------------------------------------

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message to a thread; returns its position (1, 2, 3...)."""
        if not isinstance(message, Mapping):
            raise InvalidRecord("message", "must be an object")
        text = dumps(dict(message), "message", self.limits.max_message_bytes)
        return await self._run(_append_message, check_id("thread_id", thread_id), text, self.now())

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""
        sql = """SELECT data FROM (SELECT seq, data FROM messages WHERE thread_id = ?
                 ORDER BY seq DESC LIMIT ?) ORDER BY seq"""
        rows = await self._run(_select, sql, (thread_id, _limit(limit)))
        return [orjson.loads(r[0]) for r in rows]


# --- the synchronous halves, run on the store's thread ---------------------------------------


def _limit(limit: int | None) -> int:
    if limit is None:
        return -1
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidRecord("limit", "must be a non-negative integer")
    return limit


def _check_state(state: object) -> RunState:
    if state not in RUN_STATES:
        raise InvalidRecord("state", f"must be one of {sorted(RUN_STATES)}")
    return cast(RunState, state)


def _select(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _write(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    with _transaction(conn):
        return conn.execute(sql, params).rowcount


def _put_connection(conn: sqlite3.Connection, row: ConnectionRow, meta: str) -> None:
    sql = """INSERT INTO connections (conn_id, user_id, connected_at, expires_at, meta)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (conn_id) DO UPDATE SET user_id = excluded.user_id,
             connected_at = excluded.connected_at, expires_at = excluded.expires_at,
             meta = excluded.meta"""
    _write(conn, sql, (row.conn_id, row.user_id, row.connected_at, row.expires_at, meta))


def _purge(conn: sqlite3.Connection, now: float) -> int:
    with _transaction(conn):
        return sum(
            conn.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount
            for table in ("connections", "run_events", "runs")
        )


def _put_run(conn: sqlite3.Connection, row: RunRow, meta: str) -> None:
    sql = f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    params = (
        row.run_id,
        row.owner,
        row.app,
        row.state,
        row.created_at,
        row.updated_at,
        row.expires_at,
        meta,
    )
    try:
        _write(conn, sql, params)
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"run {row.run_id} already exists") from exc


def _set_run_state(conn: sqlite3.Connection, run_id: str, state: str, now: float) -> RunRow:
    with _transaction(conn):
        sql = "UPDATE runs SET state = ?, updated_at = ? WHERE run_id = ? AND expires_at > ?"
        if conn.execute(sql, (state, now, run_id, now)).rowcount == 0:
            raise NotFound(f"run {run_id} not found")
        row = conn.execute(f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return _run_row(row)


def _append_events(
    conn: sqlite3.Connection, run_id: str, events: list[tuple[int, str]], now: float
) -> None:
    with _transaction(conn):
        sql = "SELECT expires_at FROM runs WHERE run_id = ? AND expires_at > ?"
        run = conn.execute(sql, (run_id, now)).fetchone()
        if run is None:
            raise NotFound(f"run {run_id} not found")
        for seq, text in events:
            inserted = conn.execute(
                """INSERT INTO run_events (run_id, seq, data, expires_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (run_id, seq) DO NOTHING""",
                (run_id, seq, text, run[0]),
            ).rowcount
            if not inserted:
                _check_same_event(conn, run_id, seq, text)


def _check_same_event(conn: sqlite3.Connection, run_id: str, seq: int, text: str) -> None:
    sql = "SELECT data FROM run_events WHERE run_id = ? AND seq = ?"
    (stored,) = conn.execute(sql, (run_id, seq)).fetchone()
    if stored != text:
        raise Conflict(f"run {run_id} seq {seq} is already stored with different data")


def _find_call(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> CallRow | None:
    row = conn.execute(f"SELECT {_CALL_COLS} FROM calls WHERE {where}", params).fetchone()
    return _call_row(row) if row else None


def _save_call(conn: sqlite3.Connection, row: CallRow, stamp: int) -> CallRow:
    with _transaction(conn):
        if row.run_id is not None:
            found = _find_call(conn, "user_id = ? AND run_id = ?", (row.user_id, row.run_id))
            if found is not None:
                return found
        sql = f"INSERT INTO calls ({_CALL_COLS}, verification_date) VALUES (?,?,?,?,?,?,?,?,?)"
        params = (
            row.call_id,
            row.user_id,
            row.run_id,
            orjson.dumps(row.record).decode(),
            row.status,
            stamp,
            stamp,
            None,
            row.record["verification_date"],
        )
        try:
            conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"call {row.call_id} already exists") from exc
    return row


def _get_call(conn: sqlite3.Connection, user_id: str, call_id: str) -> CallRow:
    found = _find_call(conn, "user_id = ? AND call_id = ?", (user_id, call_id))
    if found is None:
        raise NotFound(f"call {call_id} not found")
    return found


def _set_verdict(
    conn: sqlite3.Connection, user_id: str, call_id: str, status: str, verdict: str, stamp: int
) -> CallRow:
    with _transaction(conn):
        sql = """UPDATE calls SET status = ?, verdict = ?, updated_us = ?
                 WHERE user_id = ? AND call_id = ?"""
        if conn.execute(sql, (status, verdict, stamp, user_id, call_id)).rowcount == 0:
            raise NotFound(f"call {call_id} not found")
        return _get_call(conn, user_id, call_id)


def _append_message(conn: sqlite3.Connection, thread_id: str, text: str, now: float) -> int:
    with _transaction(conn):
        sql = "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE thread_id = ?"
        seq = int(conn.execute(sql, (thread_id,)).fetchone()[0])
        conn.execute(
            "INSERT INTO messages (thread_id, seq, data, created_at) VALUES (?, ?, ?, ?)",
            (thread_id, seq, text, now),
        )
    return seq
