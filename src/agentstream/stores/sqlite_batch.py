"""Group commit for the SQLite store: queued calls run in batches, one transaction per batch.

Every store call is one synchronous function of the connection, run on one worker thread.
Handing each call to the thread on its own (``loop.run_in_executor``) costs a Future, a lock and
a self-pipe wake-up per call, and each write was its own ``BEGIN IMMEDIATE ... COMMIT`` (an fsync
with ``synchronous=FULL``). Under load that per-call overhead, not SQL, was the thread's work.

So calls queue on the loop side, and one *drainer* job on the thread takes everything queued,
runs it inside ONE transaction, commits, and answers every caller with one
``call_soon_threadsafe`` per batch; then it takes the next batch, until the queue is empty. With
one caller at a time a batch is one call (as before); under load batches grow by themselves, and
the thread hop and the fsync are paid once per batch instead of once per call.

Isolation between callers: each call runs in its own ``SAVEPOINT``; a call that raises is rolled
back to it, so one caller's failure never undoes or fails another's writes. Durability is
unchanged: a caller gets its answer only after its batch's ``COMMIT``. If the COMMIT fails, or
SQLite ends the transaction early (disk full, I/O error), every caller whose writes were lost
gets that error, never a success; the drainer rolls back and goes on with the next calls.

Why hand-written: aiosqlite and friends queue statements, not whole functions, and none of them
groups commits; the machinery is a lock, a list and a flag.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from agentstream.stores.errors import StoreError

logger = logging.getLogger(__name__)

T = TypeVar("T")
_SAVEPOINT: Final = "agentstream_call"
_NOT_RUN: Final = StoreError("the call did not run")


@dataclass(frozen=True)
class BatchStats:
    """How the queued calls were grouped: ``calls`` run in ``batches`` (largest: ``largest``)."""

    batches: int = 0
    calls: int = 0
    largest: int = 0


class _Call:
    """One queued call: ``fn(conn, *args)``, its caller's future, and its outcome once run."""

    __slots__ = ("args", "fn", "future", "isolated", "ok", "value")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        future: asyncio.Future[Any],
        isolated: bool = True,
    ):
        self.fn, self.args, self.future, self.isolated = fn, args, future, isolated
        self.ok: bool = False
        self.value: Any = _NOT_RUN

    def settle(self, ok: bool, value: Any) -> None:
        self.ok, self.value = ok, value


class GroupCommit:
    """One SQLite connection on one worker thread, its calls run and committed in batches."""

    def __init__(self, name: str = "agentstream-sqlite") -> None:
        """Start the worker thread's executor; :meth:`attach` gives it the connection.

        Args:
            name: The worker thread's name prefix.
        """
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._queue: list[_Call] = []
        self._scheduled = False  # a drainer job is submitted and will see what is queued
        self._closed = False
        self._conn: sqlite3.Connection | None = None
        self.stats = BatchStats()

    async def call_alone(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the worker thread outside any batch (opening the connection)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def attach(self, conn: sqlite3.Connection) -> None:
        """Use ``conn`` (autocommit mode, ``isolation_level=None``) for the queued calls."""
        self._conn = conn

    def submit(
        self, fn: Callable[..., T], args: tuple[Any, ...], *, isolated: bool = True
    ) -> asyncio.Future[T]:
        """Queue ``fn(conn, *args)``; the future resolves after its batch commits.

        ``isolated=False`` runs the call without its own savepoint: only for a call that
        leaves nothing behind when it raises (one statement, which SQLite undoes by itself, or
        a read). Each statement is a GIL round trip with the event loop under load, and the two
        a savepoint adds were most of a one-row write's.

        Raises:
            StoreError: The store is closed (or was never given a connection).
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._closed or self._conn is None:
                raise StoreError("store is not open")
            self._queue.append(_Call(fn, args, future, isolated))
            if not self._scheduled:
                # Submitted under the lock so close()'s job can only queue behind it.
                self._scheduled = True
                self._executor.submit(self._drain)
        return future

    async def close(self) -> None:
        """Refuse new calls, finish the queued ones, close the connection; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            job = self._executor.submit(self._close_connection)
        try:
            await asyncio.wrap_future(job)
        finally:
            self._executor.shutdown(wait=False)

    def _close_connection(self) -> None:
        self._drain()  # normally empty already: the drainer job ran first
        if self._conn is not None:
            self._conn.close()

    # --- on the worker thread ---------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._scheduled = False
                    return
            try:
                self._run_batch(batch)
            except BaseException as exc:  # a bug here must not leave callers waiting forever
                logger.exception("sqlite store | batch of %d calls failed", len(batch))
                for call in batch:
                    call.settle(False, exc)
            s = self.stats
            self.stats = BatchStats(s.batches + 1, s.calls + len(batch), max(s.largest, len(batch)))
            _deliver(batch)

    def _run_batch(self, batch: list[_Call]) -> None:
        conn = self._conn
        if conn is None:
            raise StoreError("store is not open")
        start = 0
        while start < len(batch):
            start = _run_transaction(conn, batch, start)


def _run_transaction(conn: sqlite3.Connection, batch: list[_Call], start: int) -> int:
    """Run calls from ``batch[start]`` in one transaction; returns where the next one starts.

    A transaction normally takes the rest of the batch. When SQLite ends it early, the calls
    run so far are failed and the next transaction starts with the call after the culprit.
    """
    end = start
    try:
        conn.execute("BEGIN IMMEDIATE")
        while end < len(batch):
            end += 1
            _run_call(conn, batch[end - 1])
        conn.execute("COMMIT")
    except Exception as exc:
        _rollback(conn)
        # No BEGIN (the file is locked): none of the remaining calls can run, fail them all.
        lost = batch[start:end] if end > start else batch[start:]
        for call in lost:
            if call.ok or call.value is _NOT_RUN:
                call.settle(False, exc)
        return start + len(lost)
    return end


def _run_call(conn: sqlite3.Connection, call: _Call) -> None:
    """Run one call in its own savepoint, undone if it raises.

    Raises:
        sqlite3.Error: The batch's transaction is gone (SQLite rolled it back, or the call
            ended it), so nothing run in it so far can be reported as committed.
    """
    if call.isolated:
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        call.settle(True, call.fn(conn, *call.args))
    except BaseException as exc:  # the caller gets whatever its function raised
        call.settle(False, exc)
    if not conn.in_transaction:
        if not call.ok and isinstance(call.value, sqlite3.Error):
            raise call.value
        raise sqlite3.OperationalError("the transaction ended before its commit; writes lost")
    if not call.isolated:
        return
    if not call.ok:
        conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
    conn.execute(f"RELEASE {_SAVEPOINT}")


def _rollback(conn: sqlite3.Connection) -> None:
    if not conn.in_transaction:
        return  # SQLite already rolled back (disk full, I/O error)
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        logger.exception("sqlite store | rollback after a failed batch failed")


def _deliver(batch: list[_Call]) -> None:
    """Answer the callers: one ``call_soon_threadsafe`` per event loop (normally one)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
    for call in batch:
        by_loop.setdefault(call.future.get_loop(), []).append(call)
    for loop, calls in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_futures, calls)
        except RuntimeError:  # that loop is closed: nobody is waiting there any more
            logger.debug("sqlite store | %d answers dropped: event loop closed", len(calls))


def _settle_futures(calls: list[_Call]) -> None:
    for call in calls:
        if call.future.done():  # the caller was cancelled; its call ran anyway
            continue
        if call.ok:
            call.future.set_result(call.value)
        else:
            call.future.set_exception(call.value)
