"""The run recorder writes a run's events to a real store in batches, within the store's bound."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.recorder import MAX_PARTS, RunRecorder, replay_state, rows, stored_events
from agentstream.runs.run import Run
from agentstream.runs.state import RunState
from agentstream.stores import Limits, open_store
from agentstream.stores.errors import StoreUnavailable


def words(n: int) -> object:
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
            yield TextMessageChunk(delta=f"w{i} ")
        yield RunFinished(result={"n": n})

    return produce


async def test_every_event_and_the_final_state_are_recorded(tmp_path: object) -> None:
    """A run's deltas are stored merged, and read back as the very events the run published."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = RunRecorder(store, run, interval=0.01)
        recorder.start()
        run.start(words(50))  # type: ignore[arg-type]
        await run.wait()
        await recorder.wait()
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
        recorder = RunRecorder(store, run, interval=0.01)
        recorder.start()
        run.start(words(50))  # type: ignore[arg-type]
        await run.wait()
        await recorder.wait()
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
        recorder = RunRecorder(store, run, interval=0.01)
        recorder.start()
        run.start(words(30))  # type: ignore[arg-type]
        await run.wait()
        await recorder.wait()
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
    """A real store whose named calls fail their first ``times`` calls (a store outage)."""

    def __init__(self, store: Any, fail: str, times: int) -> None:
        self.store, self.fail, self.left = store, fail, times
        self.limits = store.limits

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.store, name)
        if name != self.fail:
            return real

        async def flaky(*args: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                raise StoreUnavailable("store down")
            return await real(*args)

        return flaky


async def record(store: Any, n: int = 20) -> Run:
    run = Run(owner="u", app="t")
    recorder = RunRecorder(store, run, interval=0.01)
    recorder.start()
    run.start(words(n))  # type: ignore[arg-type]
    await run.wait()
    await recorder.wait()
    return run


async def test_a_failed_write_is_retried_and_logged_not_lost(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Two failed batch writes are logged as warnings and retried: every event ends up stored."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        run = await record(Flaky(real, "append_events", 2))
        events = await stored_events(real, run.id)
    assert [e.seq for e in events] == list(range(1, 23))
    retries = [r for r in caplog.records if "will retry" in r.getMessage()]
    assert len(retries) == 2 and all(r.levelno == logging.WARNING for r in retries)


async def test_a_run_the_store_cannot_open_still_finishes_and_logs_an_error(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """If the run's row cannot be written, the error is logged and the live run still finishes."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        run = await record(Flaky(real, "put_run", 1))
        assert await real.get_run(run.id) is None
    assert run.state is RunState.FINISHED
    assert [r.levelno for r in caplog.records if "could not record the run" in r.getMessage()] == [
        logging.ERROR
    ]


async def test_a_final_state_the_store_refuses_is_logged(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed final-state write leaves the row 'running' and says so in a warning."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as real:
        run = await record(Flaky(real, "set_run_state", 1))
        row = await real.get_run(run.id)
    assert row is not None and row.state == "running"
    assert any("could not record the final state" in r.getMessage() for r in caplog.records)


async def test_the_recorder_is_not_counted_as_a_subscriber(tmp_path: object) -> None:
    """A recorded run nobody streams has no subscribers, so the detach grace can cancel it."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = RunRecorder(store, run, interval=0.01)
        recorder.start()
        assert run.subscriber_count == 0
        run.start(words(5))  # type: ignore[arg-type]
        await run.wait()
        await recorder.wait()
        assert [e.seq for e in await stored_events(store, run.id)] == list(range(1, 8))
