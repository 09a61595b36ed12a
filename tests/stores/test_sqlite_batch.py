"""Group commit: queued calls share one transaction, each isolated, answered only after COMMIT."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest

from agentstream.stores.errors import Conflict, StoreError
from agentstream.stores.sqlite import SQLiteStore
from agentstream.stores.sqlite_batch import BatchStats


@contextlib.asynccontextmanager
async def thread_held(store: SQLiteStore) -> AsyncIterator[None]:
    """Keep the store's thread busy in a call of its own; calls made meanwhile form one batch."""
    started, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(30)

    holder = asyncio.ensure_future(store.run(hold))
    await asyncio.to_thread(started.wait, 30)
    try:
        yield
        await asyncio.sleep(0)  # let the callers started in the block reach the queue
    finally:
        release.set()
        await holder


def batched(calls: list[Awaitable[Any]]) -> list[asyncio.Future[Any]]:
    """Start the calls as tasks (they queue at the next loop turn)."""
    return [asyncio.ensure_future(call) for call in calls]


async def open_file(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    await store.open()
    return store


def _insert(conn: sqlite3.Connection, thread: str, text: str) -> None:
    conn.execute(
        "INSERT INTO messages (thread_id, seq, data, created_at) VALUES (?, 1, ?, 0)",
        (thread, text),
    )


def _write_then_fail(conn: sqlite3.Connection, thread: str) -> None:
    _insert(conn, thread, '"doomed"')
    raise ValueError("the app changed its mind")


def _threads(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT thread_id FROM messages ORDER BY thread_id")]


async def test_concurrent_calls_are_all_committed_in_fewer_batches(tmp_path: Path) -> None:
    """200 concurrent put_run + append_events all land on disk, in fewer batches than calls."""
    store = await open_file(tmp_path / "a.db")
    try:

        async def stream(i: int) -> None:
            await store.put_run(f"r{i}", "u", "app")
            await store.append_events(f"r{i}", [(1, f'{{"i":{i}}}')])

        await asyncio.gather(*(stream(i) for i in range(200)))
        stats = store.batch_stats
        assert stats.calls == 400
        assert stats.batches < 400
    finally:
        await store.close()
    reopened = await open_file(tmp_path / "a.db")
    try:
        for i in (0, 99, 199):
            assert await reopened.read_events(f"r{i}") == [(1, f'{{"i":{i}}}')]
        assert all([await reopened.get_run(f"r{i}") for i in range(200)])
    finally:
        await reopened.close()


async def test_calls_queued_behind_a_busy_thread_run_as_one_batch(tmp_path: Path) -> None:
    """Calls made while the thread is busy are taken together: one batch, one commit."""
    store = await open_file(tmp_path / "a.db")
    try:
        async with thread_held(store):
            tasks = batched([store.put_run(f"r{i}", "u", "app") for i in range(50)])
        await asyncio.gather(*tasks)
        assert store.batch_stats.largest == 50
    finally:
        await store.close()


async def test_one_caller_at_a_time_runs_one_call_per_batch(tmp_path: Path) -> None:
    """Without concurrency every call is its own batch, as before group commit."""
    store = await open_file(tmp_path / "a.db")
    try:
        before = store.batch_stats
        await store.put_run("r", "u", "app")
        await store.append_events("r", [(1, "{}")])
        after = store.batch_stats
        assert (after.batches - before.batches, after.calls - before.calls) == (2, 2)
    finally:
        await store.close()
    assert store.batch_stats == BatchStats()


async def test_a_failing_call_leaves_its_batchmates_committed(tmp_path: Path) -> None:
    """A Conflict and an app function that raises after writing undo only their own writes."""
    store = await open_file(tmp_path / "a.db")
    await store.put_run("taken", "u", "app")
    try:
        async with thread_held(store):
            tasks = batched(
                [
                    store.run(_insert, "before", '"kept"'),
                    store.put_run("taken", "u", "app"),
                    store.run(_write_then_fail, "doomed"),
                    store.run(_insert, "after", '"kept"'),
                ]
            )
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert store.batch_stats.largest == 4
    finally:
        await store.close()
    assert results[0] is None and results[3] is None
    assert isinstance(results[1], Conflict)
    assert isinstance(results[2], ValueError)  # an app's own error passes through unchanged
    reopened = await open_file(tmp_path / "a.db")
    try:
        assert await reopened.run(_threads) == ["after", "before"]
    finally:
        await reopened.close()


def _deny_next_commit(conn: sqlite3.Connection) -> None:
    """Make the batch's COMMIT fail once: SQLite's authorizer refuses it at prepare time."""
    denied = []

    def authorizer(action: int, arg1: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_TRANSACTION and arg1 == "COMMIT" and not denied:
            denied.append(arg1)
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorizer)  # also expires the cached COMMIT statement


async def test_a_failed_commit_fails_every_caller_of_the_batch(tmp_path: Path) -> None:
    """A failed COMMIT: nobody in the batch hears success, nothing is kept, the next batch works."""
    store = await open_file(tmp_path / "a.db")
    try:
        async with thread_held(store):
            tasks = batched(
                [
                    store.run(_insert, "one", '"lost"'),
                    store.run(_deny_next_commit),
                    store.put_run("r", "u", "app"),
                    store.get_run("r"),  # a read of uncommitted data is not an answer either
                ]
            )
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results), results
        assert "not authorized" in str(results[0])
        assert await store.get_run("r") is None
        await store.run(_insert, "two", '"kept"')
    finally:
        await store.close()
    reopened = await open_file(tmp_path / "a.db")
    try:
        assert await reopened.run(_threads) == ["two"]
    finally:
        await reopened.close()


def _trap(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS trap (x INTEGER)")
    conn.execute(
        """CREATE TRIGGER IF NOT EXISTS trap_aborts AFTER INSERT ON trap
           BEGIN SELECT RAISE(ROLLBACK, 'trap sprung'); END"""
    )


def _spring(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO trap VALUES (1)")


async def test_a_call_that_aborts_the_transaction_fails_the_calls_before_it(
    tmp_path: Path,
) -> None:
    """SQLite rolling back the whole transaction fails the calls run in it; later calls commit."""
    store = await open_file(tmp_path / "a.db")
    await store.run(_trap)
    try:
        async with thread_held(store):
            tasks = batched(
                [
                    store.run(_insert, "before", '"lost"'),
                    store.run(_spring),
                    store.run(_insert, "after", '"kept"'),
                ]
            )
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await store.close()
    assert isinstance(results[0], StoreError) and "trap sprung" in str(results[0])
    assert isinstance(results[1], StoreError) and "trap sprung" in str(results[1])
    assert results[2] is None
    reopened = await open_file(tmp_path / "a.db")
    try:
        assert await reopened.run(_threads) == ["after"]
    finally:
        await reopened.close()


async def test_close_finishes_the_queued_calls_then_refuses_new_ones(tmp_path: Path) -> None:
    """close() with calls queued answers and commits them all; later calls get StoreError."""
    store = await open_file(tmp_path / "a.db")
    async with thread_held(store):
        tasks = batched([store.run(_insert, f"t{i}", '"kept"') for i in range(20)])
        await asyncio.sleep(0)
        closing = asyncio.ensure_future(store.close())
        await asyncio.sleep(0)
        with pytest.raises(StoreError, match="store is not open"):
            await store.run(_insert, "late", '"refused"')
    assert await asyncio.gather(*tasks) == [None] * 20
    await closing
    with pytest.raises(StoreError, match="store is not open"):
        await store.put_run("r", "u", "app")
    reopened = await open_file(tmp_path / "a.db")
    try:
        assert len(await reopened.run(_threads)) == 20
    finally:
        await reopened.close()


async def test_a_cancelled_caller_does_not_disturb_its_batch(tmp_path: Path) -> None:
    """A caller that gave up still has its call run; the others get their answers."""
    store = await open_file(tmp_path / "a.db")
    try:
        async with thread_held(store):
            tasks = batched([store.run(_insert, f"t{i}", '"kept"') for i in range(3)])
            await asyncio.sleep(0)
            tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], asyncio.CancelledError)
        assert await store.run(_threads) == ["t0", "t1", "t2"]
    finally:
        await store.close()
