"""The default store: one SQLite file, WAL mode, ordered migrations, calls committed in groups.

Why ``sqlite3`` on one dedicated worker thread rather than aiosqlite: every store method runs as
*one* synchronous function on that thread, so a transaction can never interleave with another
coroutine's statements. With aiosqlite each statement is a separate await on a shared
connection, and two coroutines' transactions can mix unless every caller takes a lock.

Group commit (:mod:`agentstream.stores.sqlite_batch`): calls queue up while the thread is busy,
and the thread runs everything queued in ONE transaction, each call in its own savepoint (a
failing call undoes only its own writes), then answers all those callers at once. One thread hop
and one commit (one fsync) per batch instead of per call is what keeps the thread cheap at
thousands of concurrent streams; with one caller at a time a batch is one call, as before.
A caller's await returns only after its batch's COMMIT.

Crash safety: ``journal_mode=WAL`` with ``synchronous=FULL`` by default. WAL alone (even with
NORMAL) survives ``kill -9`` of the process without losing a committed transaction, because the
commit is in the WAL file before ``COMMIT`` returns; FULL adds an fsync per commit so a committed
call also survives power loss or an OS crash. Writers that need throughput (token-rate run logs on
a laptop) can pass ``?synchronous=normal``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import orjson

from agentstream.stores.base import BaseStore
from agentstream.stores.errors import (
    Conflict,
    InvalidRecord,
    NotFound,
    StoreError,
    StoreUnavailable,
)
from agentstream.stores.rows import (
    ConnectionRow,
    ConnectionWrite,
    Limits,
    RunRow,
    RunState,
    RunWrite,
)
from agentstream.stores.sqlite_batch import BatchStats, GroupCommit
from agentstream.stores.sqlite_runs import RunJob, record_connections, record_runs
from agentstream.stores.sqlite_schema import Migrations, migrate, transaction
from agentstream.stores.validation import (
    check_events,
    check_id,
    check_message,
    check_meta,
    check_state,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
# OperationalError texts that mean "cannot get at the file right now", not "bad SQL".
_UNAVAILABLE: Final = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")

_RUN_COLS: Final = "run_id, owner, app, state, created_at, updated_at, expires_at, meta"
_CONN_COLS: Final = "conn_id, user_id, connected_at, expires_at, meta"


def _conn_row(r: sqlite3.Row) -> ConnectionRow:
    return ConnectionRow(r[0], r[1], r[2], r[3], orjson.loads(r[4]))


def _run_row(r: sqlite3.Row) -> RunRow:
    return RunRow(r[0], r[1], r[2], cast(RunState, r[3]), r[4], r[5], r[6], orjson.loads(r[7]))


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
        self._batcher: GroupCommit | None = None

    # --- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating its folder), switch to WAL and migrate."""
        if self._batcher is not None:
            return
        batcher = GroupCommit()
        try:
            conn = await batcher.call_alone(self._connect)
        except sqlite3.Error as exc:
            await batcher.close()
            raise self._translate(exc) from exc
        except BaseException:
            await batcher.close()
            raise
        batcher.attach(conn)
        self._batcher = batcher
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
        """Finish the queued calls, close the connection and stop the thread; idempotent."""
        batcher, self._batcher = self._batcher, None
        if batcher is not None:
            await batcher.close()

    @property
    def batch_stats(self) -> BatchStats:
        """How calls were grouped into batches since :meth:`open` (zeros when closed)."""
        return BatchStats() if self._batcher is None else self._batcher.stats

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        unavailable = isinstance(exc, sqlite3.OperationalError) and any(
            word in str(exc).lower() for word in _UNAVAILABLE
        )
        error = StoreUnavailable if unavailable else StoreError
        return error(f"sqlite {self.path}: {exc}")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the store's thread, translating its errors.

        Apps that keep their own tables in this file (CalledIt's calls) do their reads and
        writes this way, so they share the one writer thread and its transactions. ``fn`` runs
        inside its batch's transaction (in its own savepoint): ``transaction(conn)`` nests, and
        ``fn`` must not COMMIT or ROLLBACK itself.

        Raises:
            StoreUnavailable: The file is locked, busy, full or unreadable.
            StoreError: Any other SQLite error, or the store is not open.
        """
        return await self._call(fn, *args)

    async def _call(self, fn: Callable[..., T], *args: Any, isolated: bool = True) -> T:
        """:meth:`run`; ``isolated=False`` for the store's own one-statement calls and reads."""
        batcher = self._batcher
        if batcher is None:
            raise StoreError("store is not open")
        try:
            return await batcher.submit(fn, args, isolated=isolated)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        return await self._call(_select, sql, params, isolated=False)

    async def ensure_schema(self, component: str, migrations: Migrations) -> int:
        """Create or migrate an app's own tables, versioned under ``component``."""
        return await self.run(migrate, component, migrations)

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
        write = ConnectionWrite(conn_id, user_id, connected_at, ttl_s, dict(meta or {}))
        values = self._connection_values(write)
        await self._call(record_connections, [values], [], isolated=False)
        return ConnectionRow(*values[:4], write.meta)

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""
        sql = f"SELECT {_CONN_COLS} FROM connections WHERE conn_id = ? AND expires_at > ?"
        rows = await self._read(sql, (conn_id, self.now()))
        return _conn_row(rows[0]) if rows else None

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""
        await self._call(record_connections, [], [conn_id], isolated=False)

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""
        sql = f"SELECT {_CONN_COLS} FROM connections WHERE expires_at > ?"
        params: tuple[Any, ...] = (self.now(),)
        if user_id is not None:
            sql, params = sql + " AND user_id = ?", (*params, user_id)
        rows = await self._read(sql + " ORDER BY connected_at, conn_id", params)
        return [_conn_row(r) for r in rows]

    async def record_connections(self, puts: list[ConnectionWrite], deletes: list[str]) -> None:
        """All puts in one multi-row statement (per chunk), all deletes in another."""
        rows = [self._connection_values(p) for p in puts]
        if rows or deletes:
            await self._call(record_connections, rows, list(deletes), isolated=False)

    def _connection_values(self, put: ConnectionWrite) -> tuple[str, str, float, float, str]:
        """The row's checked column values: id, user, connected_at, expires_at, meta text."""
        return (
            check_id("conn_id", put.conn_id),
            check_id("user_id", put.user_id),
            float(put.connected_at),
            self.expiry(put.ttl_s),
            check_meta(put.meta, self.limits.max_meta_bytes),
        )

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many rows went."""
        return await self._call(_purge, self.now() if now is None else now, isolated=False)

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
        row = self.new_run_row(run_id, owner, app, state, ttl_s, meta)
        meta_text = check_meta(meta, self.limits.max_meta_bytes)
        await self._call(_put_run, row, meta_text, isolated=False)
        return row

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""
        sql = f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ? AND expires_at > ?"
        rows = await self._read(sql, (run_id, self.now()))
        return _run_row(rows[0]) if rows else None

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""
        state_ = check_state(state)
        return await self._call(_set_run_state, run_id, state_, self.now(), isolated=False)

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events, all in one transaction; same text again is a no-op."""
        batch = check_events(events, self.limits.max_events_per_run, self.limits.max_event_bytes)
        await self._call(_append_events, run_id, batch, self.now(), isolated=False)

    async def record_runs(self, writes: list[RunWrite]) -> list[BaseException | None]:
        """Every write in one call on the store's thread, in the batch's transaction.

        One call for a whole batch of runs (headers, rows, end states) instead of three or
        more per run, and no savepoints: at a thousand short streams the per-call and
        per-statement costs, not the rows, were the store's work.
        """
        outcomes: list[BaseException | None] = [None] * len(writes)
        jobs: list[RunJob] = []
        for i, write in enumerate(writes):
            try:
                jobs.append(self._run_job(i, write))
            except StoreError as exc:  # a write the checks refuse fails alone
                outcomes[i] = exc
        if not jobs:
            return outcomes
        try:
            failed = await self._call(record_runs, jobs, self.now(), isolated=False)
        except StoreError as exc:  # the batch did not commit: nothing of it landed
            for job in jobs:
                outcomes[job.index] = exc
            return outcomes
        for i, error in failed:
            outcomes[i] = self._translate(error) if isinstance(error, sqlite3.Error) else error
        return outcomes

    def _run_job(self, i: int, write: RunWrite) -> RunJob:
        header = None
        if write.create:
            row = self.new_run_row(
                write.run_id, write.owner, write.app, RunState.RUNNING, write.ttl_s, None
            )
            header = (row, "{}")
        events = (
            check_events(write.events, self.limits.max_events_per_run, self.limits.max_event_bytes)
            if write.events
            else []
        )
        state = None if write.state is None else check_state(write.state)
        return RunJob(i, write.run_id, header, events, state)

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""
        sql = """SELECT seq, data FROM run_events WHERE run_id = ? AND seq > ? AND expires_at > ?
                 ORDER BY seq LIMIT ?"""
        rows = await self._read(sql, (run_id, after_seq, self.now(), _limit(limit)))
        return [(int(r[0]), str(r[1])) for r in rows]

    # --- chat messages ----------------------------------------------------------------------

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message to a thread; returns its position (1, 2, 3...)."""
        text = check_message(message, self.limits.max_message_bytes)
        thread = check_id("thread_id", thread_id)
        return await self._call(_append_message, thread, text, self.now(), isolated=False)

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""
        sql = """SELECT data FROM (SELECT seq, data FROM messages WHERE thread_id = ?
                 ORDER BY seq DESC LIMIT ?) ORDER BY seq"""
        rows = await self._read(sql, (thread_id, _limit(limit)))
        return [orjson.loads(r[0]) for r in rows]


# --- the synchronous halves, run on the store's thread ---------------------------------------


def _limit(limit: int | None) -> int:
    if limit is None:
        return -1
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidRecord("limit", "must be a non-negative integer")
    return limit


def _select(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _write(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    """One statement: atomic by itself, so no savepoint (the batch is the transaction)."""
    return conn.execute(sql, params).rowcount


def _purge(conn: sqlite3.Connection, now: float) -> int:
    with transaction(conn):
        return sum(
            conn.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount
            for table in ("connections", "run_events", "runs")
        )


def _put_run(conn: sqlite3.Connection, row: RunRow, meta: str) -> None:
    sql = f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    try:
        _write(conn, sql, _run_params(row, meta))
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"run {row.run_id} already exists") from exc


def _run_params(row: RunRow, meta: str) -> tuple[Any, ...]:
    return (
        row.run_id,
        row.owner,
        row.app,
        row.state,
        row.created_at,
        row.updated_at,
        row.expires_at,
        meta,
    )


def _set_run_state(conn: sqlite3.Connection, run_id: str, state: str, now: float) -> RunRow:
    with transaction(conn):
        _update_state(conn, run_id, state, now)
        row = conn.execute(f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return _run_row(row)


def _update_state(conn: sqlite3.Connection, run_id: str, state: str, now: float) -> None:
    sql = "UPDATE runs SET state = ?, updated_at = ? WHERE run_id = ? AND expires_at > ?"
    if conn.execute(sql, (state, now, run_id, now)).rowcount == 0:
        raise NotFound(f"run {run_id} not found")


def _append_events(
    conn: sqlite3.Connection, run_id: str, events: list[tuple[int, str]], now: float
) -> None:
    with transaction(conn):
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


def _append_message(conn: sqlite3.Connection, thread_id: str, text: str, now: float) -> int:
    with transaction(conn):
        sql = "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE thread_id = ?"
        seq = int(conn.execute(sql, (thread_id,)).fetchone()[0])
        conn.execute(
            "INSERT INTO messages (thread_id, seq, data, created_at) VALUES (?, ?, ?, ?)",
            (thread_id, seq, text, now),
        )
    return seq
