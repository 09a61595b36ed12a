"""The recorder writes runs' events to a real store in shared batches, within the store's bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.recorder import (
    MAX_FAILURES,
    MAX_PARTS,
    Recorder,
    replay_state,
    rows,
    stored_events,
)
from agentstream.runs.run import Run
from agentstream.runs.state import RunState
from agentstream.stores import Limits, open_store
from agentstream.stores.errors import StoreUnavailable
from agentstream.stores.rows import RunWrite


def words(n: int, pause: float = 0.0) -> object:
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
            yield TextMessageChunk(delta=f"w{i} ")
        if pause:
            await asyncio.sleep(pause)
        yield RunFinished(result={"n": n})

    return produce


async def test_every_event_and_the_final_state_are_recorded(tmp_path: object) -> None:
    """A run's deltas are stored merged, and read back as the very events the run published."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = Recorder(store, interval=0.01)
        recorder.record(run)
        run.start(words(50))  # type: ignore[arg-type]
        await run.wait()
        await recorder.drain()
        events = await stored_events(store, run.id)
        row = await store.get_run(run.id)
        stored = await store.read_events(run.id)
    assert [seq for seq, _ in stored] == [1, 51, 52]  # the producer never yields: one batch
    assert events == run.log.after(0)
    assert row is not None and row.state == "finished" and row.owner == "u"


@pytest.mark.parametrize("after", [0, 1, 2, 3, 25, 49, 50, 51, 52])
async def test_a_resume_inside_a_merged_row_is_exact(tmp_path: object, after: int) -> None:
    """Replaying after any seq, even one inside a merged row, gives exactly the text after it."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = Recorder(store, interval=0.01)
        recorder.record(run)
        run.start(words(50))  # type: ignore[arg-type]
        await run.wait()
        await recorder.drain()
        events = await stored_events(store, run.id, after)
    assert events == run.log.after(after)


def test_rows_merge_only_consecutive_deltas_of_one_message() -> None:
    """A non-text event or another message ends a merged row; each row keeps its last seq."""
    events: list[Event] = [
        TextMessageChunk(delta="a", message_id="m", seq=1),
        TextMessageChunk(delta="bé", message_id="m", seq=2),
        TextMessageChunk(delta="c", message_id="n", seq=3),
        RunFinished(seq=4),
        TextMessageChunk(delta="d", message_id="n", seq=5),
    ]
    stored = rows(events)
    assert [seq for seq, _ in stored] == [2, 3, 4, 5]
    assert '"parts":[[1,1,0.0],[2,2,0.0]]' in stored[0][1]
    assert '"parts"' not in stored[1][1]


def test_a_merged_row_holds_at_most_max_parts_deltas() -> None:
    """Past MAX_PARTS deltas a new row starts, so a row's parts list stays bounded."""
    events: list[Event] = [
        TextMessageChunk(delta="x", message_id="m", seq=i) for i in range(1, MAX_PARTS + 2)
    ]
    assert [seq for seq, _ in rows(events)] == [MAX_PARTS, MAX_PARTS + 1]


async def test_a_run_longer_than_the_store_bound_is_recorded_up_to_it(tmp_path: object) -> None:
    """Past max_events_per_run the recorder stops writing events instead of failing the run."""
    async with open_store(
        f"sqlite:///{tmp_path}/r.db", limits=Limits(max_events_per_run=10)
    ) as store:
        run = Run(owner="u")
        recorder = Recorder(store, interval=0.01)
        recorder.record(run)
        run.start(words(30))  # type: ignore[arg-type]
        await run.wait()
        await recorder.drain()
        events = await stored_events(store, run.id)
        row = await store.get_run(run.id)
    assert [e.seq for e in events] == list(range(1, 11))
    assert run.state.value == "finished" and run.last_seq == 32
    assert row is not None and row.state == "finished"


@pytest.mark.parametrize(
    ("recorded", "events", "answer"),
    [
        ("finished", [TextMessageChunk(delta="a"), RunFinished()], "finished"),
        ("cancelled", [RunError(message="x", code="cancelled")], "cancelled"),
        ("finished", [TextMessageChunk(delta="a")], "expired"),  # the log stops before the end
        ("finished", [], "finished"),  # the client already saw everything
        ("running", [TextMessageChunk(delta="a")], "expired"),  # cut off by a restart
        ("running", [], "expired"),
    ],
)
def test_replay_state_from_the_store(recorded: str, events: list[Event], answer: str) -> None:
    """Resume from the store answers the recorded end only when the whole tail is kept."""
    assert replay_state(recorded, events) == answer


class Flaky:
    """A real store whose writes ``when`` picks fail, ``times`` times (a store outage)."""

    def __init__(self, store: Any, when: Callable[[RunWrite], bool], times: int) -> None:
        self.store, self.when, self.left = store, when, times
        self.limits = store.limits
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def record_runs(self, writes: list[RunWrite]) -> list[BaseException | None]:
        self.calls += 1
        down = [self.left > 0 and self.when(write) for write in writes]
        self.left -= any(down)
        landed = iter(
            await self.store.record_runs([w for w, d in zip(writes, down, strict=True) if not d])
        )
        return [StoreUnavailable("store down") if d else next(landed) for d in down]


async def record(store: Any, n: int = 20, pause: float = 0.0) -> Run:
    run = Run(owner="u", app="t")
    recorder = Recorder(store, interval=0.01)
    recorder.record(run)
    run.start(words(n, pause))  # type: ignore[arg-type]
    await run.wait()
    await recorder.drain()
    return run


async def test_a_failed_write_is_retried_and_logged_not_lost(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Two failed batch writes are logged as warnings and retried: every event ends up stored."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        run = await record(Flaky(real, lambda write: bool(write.events), 2))
        events = await stored_events(real, run.id)
        row = await real.get_run(run.id)
    assert [e.seq for e in events] == list(range(1, 23))
    assert row is not None and row.state == "finished"
    retries = [r for r in caplog.records if "will retry" in r.getMessage()]
    assert len(retries) == 2 and all(r.levelno == logging.WARNING for r in retries)


async def test_a_run_the_store_cannot_open_still_finishes_and_logs_an_error(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """If the run's row never gets written, one error is logged and the live run still finishes."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        run = await record(Flaky(real, lambda write: write.create, MAX_FAILURES))
        assert await real.get_run(run.id) is None
    assert run.state is RunState.FINISHED
    assert [r.levelno for r in caplog.records if "could not record the run" in r.getMessage()] == [
        logging.ERROR
    ]


async def test_a_final_state_the_store_refuses_is_logged(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A final state refused past every retry leaves the row 'running' and says so."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        flaky = Flaky(real, lambda write: write.state is not None, MAX_FAILURES)
        run = await record(flaky, pause=0.1)  # the header lands before the run ends
        row = await real.get_run(run.id)
    assert row is not None and row.state == "running"
    assert any("could not record the final state" in r.getMessage() for r in caplog.records)


async def test_runs_ending_together_share_store_calls(tmp_path: object) -> None:
    """Fifty runs that start and end together are written in a few shared calls, not 150."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        flaky = Flaky(real, lambda write: False, 0)
        recorder = Recorder(flaky, interval=0.01)
        runs = [Run(owner="u", app="t") for _ in range(50)]
        for run in runs:
            recorder.record(run)
            run.start(words(5))  # type: ignore[arg-type]
        await asyncio.gather(*(run.wait() for run in runs))
        assert await recorder.drain(5)
        stored = [await stored_events(real, run.id) for run in runs]
        states = {(await real.get_run(run.id)).state for run in runs}  # type: ignore[union-attr]
    assert stored == [run.log.after(0) for run in runs]
    assert states == {"finished"}
    assert flaky.calls <= 5


async def test_drain_waits_for_live_runs_and_says_when_time_ran_out(tmp_path: object) -> None:
    """drain() is False while a run still streams, True once it ended; a later run is recorded."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        recorder = Recorder(store, interval=0.01)
        slow = Run(owner="u", app="t")
        recorder.record(slow)
        slow.start(words(3, pause=0.3))  # type: ignore[arg-type]
        assert not await recorder.drain(0.05)
        assert recorder.recording == 1
        await slow.wait()
        assert await recorder.drain(5) and recorder.recording == 0
        later = Run(owner="u", app="t")
        recorder.record(later)  # the writer stopped when idle and starts again
        later.start(words(3))  # type: ignore[arg-type]
        await later.wait()
        assert await recorder.drain(5)
        row = await store.get_run(later.id)
    assert row is not None and row.state == "finished"


async def test_the_recorder_is_not_counted_as_a_subscriber(tmp_path: object) -> None:
    """A recorded run nobody streams has no subscribers, so the detach grace can cancel it."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = Recorder(store, interval=0.01)
        recorder.record(run)
        assert run.subscriber_count == 0
        run.start(words(5))  # type: ignore[arg-type]
        await run.wait()
        await recorder.drain()
        assert [e.seq for e in await stored_events(store, run.id)] == list(range(1, 8))


def test_a_recorder_moved_to_another_event_loop_starts_a_new_writer(tmp_path: object) -> None:
    """A recorder whose writer was left on a closed loop records a run on the next loop."""

    async def one_run(recorder: Recorder, store: Any, pause: float) -> Run:
        run = Run(owner="u", app="t")
        recorder.record(run)
        run.start(words(2, pause))  # type: ignore[arg-type]
        await run.wait()
        return run

    async def first() -> tuple[Recorder, Any]:
        store = await open_store(f"sqlite:///{tmp_path}/a.db").__aenter__()
        recorder = Recorder(store, interval=0.01)
        await one_run(recorder, store, 0.0)
        slow = Run(owner="u", app="t")
        recorder.record(slow)  # left live when this loop ends
        return recorder, store

    recorder, _ = asyncio.run(first())

    async def second() -> RunState:
        async with open_store(f"sqlite:///{tmp_path}/b.db") as store:
            recorder.store = store
            run = await one_run(recorder, store, 0.0)
            assert await recorder.drain(5)
            row = await store.get_run(run.id)
        assert row is not None
        return row.state

    assert asyncio.run(second()) == "finished"
