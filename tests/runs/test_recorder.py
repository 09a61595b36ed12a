"""The run recorder writes a run's events to a real store in batches, within the store's bound."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.recorder import RunRecorder, replay_state, stored_events
from agentstream.runs.run import Run
from agentstream.stores import Limits, open_store


def words(n: int) -> object:
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
            yield TextMessageChunk(delta=f"w{i} ")
        yield RunFinished(result={"n": n})

    return produce


async def test_every_event_and_the_final_state_are_recorded(tmp_path: object) -> None:
    """A finished run's events are all in the store, in order, and its state is 'finished'."""
    async with open_store(f"sqlite:///{tmp_path}/r.db") as store:
        run = Run(owner="u", app="t")
        recorder = RunRecorder(store, run, interval=0.01)
        recorder.start()
        run.start(words(50))  # type: ignore[arg-type]
        await run.wait()
        await recorder.wait()
        events = await stored_events(store, run.id)
        row = await store.get_run(run.id)
    assert [e.seq for e in events] == list(range(1, 53))
    assert list(run.log.after(0)) == events
    assert row is not None and row.state == "finished" and row.owner == "u"


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
