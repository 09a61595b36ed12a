"""A batch of runs is recorded in a few statements, whatever its size, with per-run outcomes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agentstream.stores.errors import Conflict, NotFound
from agentstream.stores.rows import RunWrite
from agentstream.stores.sqlite import SQLiteStore


def _writes(count: int, rows: int, state: str | None = "finished") -> list[RunWrite]:
    return [
        RunWrite(
            f"r{i}",
            "u",
            "bench",
            60,
            create=True,
            events=[(seq, f'{{"seq":{seq}}}') for seq in range(1, rows + 1)],
            state=state,  # type: ignore[arg-type]
        )
        for i in range(count)
    ]


def _trace(conn: sqlite3.Connection, seen: list[str]) -> None:
    conn.set_trace_callback(seen.append)


def _untrace(conn: sqlite3.Connection) -> None:
    conn.set_trace_callback(None)


async def test_a_batch_of_runs_is_a_handful_of_statements(tmp_path: Path) -> None:
    """200 runs x 5 rows (new headers, rows, end states) take under 20 statements, not ~1,600."""
    async with SQLiteStore(tmp_path / "s.db") as store:
        seen: list[str] = []
        await store.run(_trace, seen)
        outcomes = await store.record_runs(_writes(200, 5))
        await store.run(_untrace)
        assert outcomes == [None] * 200
        assert await store.read_events("r199") == [(s, f'{{"seq":{s}}}') for s in range(1, 6)]
        assert (await store.get_run("r0")).state == "finished"  # type: ignore[union-attr]
    recording = [sql for sql in seen if "run" in sql]
    assert 3 <= len(recording) < 20


async def test_batches_past_sqlites_variable_bound_are_chunked(tmp_path: Path) -> None:
    """With SQLite allowing 40 variables a statement, 30 runs x 7 rows still all land."""
    async with SQLiteStore(tmp_path / "s.db") as store:
        await store.run(lambda conn: conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40))
        assert await store.record_runs(_writes(30, 7, state=None)) == [None] * 30
        later = [RunWrite(f"r{i}", "u", "bench", 60, state="finished") for i in range(30)]
        assert await store.record_runs(later) == [None] * 30
        for i in range(30):
            assert [seq for seq, _ in await store.read_events(f"r{i}")] == list(range(1, 8))
            assert (await store.get_run(f"r{i}")).state == "finished"  # type: ignore[union-attr]


async def test_one_runs_conflict_leaves_its_chunk_mates_written(tmp_path: Path) -> None:
    """A forged seq fails only its run (no end state); runs in the same statement land."""
    async with SQLiteStore(tmp_path / "s.db") as store:
        assert await store.record_runs(_writes(3, 2, state=None)) == [None] * 3
        writes = _writes(3, 3)
        writes[1] = RunWrite(
            "r1", "u", "bench", 60, events=[(2, '"forged"'), (3, "{}")], state="finished"
        )
        outcomes = await store.record_runs(writes)
        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], Conflict)
        assert (await store.get_run("r1")).state == "running"  # type: ignore[union-attr]
        assert (await store.get_run("r2")).state == "finished"  # type: ignore[union-attr]
        assert [seq for seq, _ in await store.read_events("r2")] == [1, 2, 3]


async def test_rows_for_an_unknown_or_expired_run_are_not_found(tmp_path: Path) -> None:
    """A later batch for a run never created, or expired, is NotFound; a live one lands."""
    now = [1_000_000.0]
    async with SQLiteStore(tmp_path / "s.db", clock=lambda: now[0]) as store:
        assert await store.record_runs(
            [
                RunWrite("old", "u", "bench", 10, create=True),
                RunWrite("new", "u", "bench", 600, create=True),
            ]
        ) == [None, None]
        now[0] += 60
        outcomes = await store.record_runs(
            [
                RunWrite("ghost", "u", "bench", 60, events=[(1, "{}")]),
                RunWrite("old", "u", "bench", 10, state="finished"),
                RunWrite("new", "u", "bench", 600, events=[(1, "{}")], state="finished"),
            ]
        )
    assert isinstance(outcomes[0], NotFound) and isinstance(outcomes[1], NotFound)
    assert outcomes[2] is None
