"""The run registry: foreign ids look unknown; an abandoned run is cancelled only if nobody resumes.

Grace periods here are tiny and the tests assert on the run's state after the loop has passed the
grace deadline (timers fire in deadline order), never on how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agentstream.protocol.events import Event, RunError, TextMessageChunk
from agentstream.runs.registry import RunRegistry, TooManyRuns
from agentstream.runs.run import Run, RunState

GRACE = 0.01


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def deliver(self, event: Event) -> None:
        self.events.append(event)


async def past_the_grace() -> None:
    """Let the loop pass the reaper's deadline (a later timer fires after an earlier one)."""
    await asyncio.sleep(GRACE * 5)


async def until_cancelled(run: Run) -> AsyncIterator[Event]:
    """A cooperative producer: streams until the run's cancel signal is raised."""
    while not run.cancel_signal.is_set():
        yield TextMessageChunk(delta=".")
        await asyncio.sleep(GRACE / 5)


async def test_the_owner_finds_the_run() -> None:
    """``get`` returns the run to the user who owns it."""
    registry = RunRegistry()
    run = registry.add(Run(owner="alice"))
    assert registry.get(run.id, "alice") is run
    assert len(registry) == 1


async def test_a_foreign_id_looks_exactly_like_an_unknown_one() -> None:
    """Another user's run id gets the same None as an id that never existed."""
    registry = RunRegistry()
    run = registry.add(Run(owner="alice"))
    assert registry.get(run.id, "mallory") is None
    assert registry.get("run_nonexistent", "alice") is None
    assert registry.get(run.id, "") is None


async def test_a_detached_run_is_cancelled_when_nobody_resumes() -> None:
    """After the grace period with no subscriber, the run ends cancelled with the reason."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    sink = Sink()
    run.subscribe(sink)
    run.start(until_cancelled)
    run.unsubscribe(sink)
    registry.detached(run)
    await past_the_grace()
    assert run.cancel_signal.is_set()
    await run.wait()
    assert run.state is RunState.CANCELLED
    last = run.log.after(run.last_seq - 1)[-1]
    assert isinstance(last, RunError) and "Nobody resumed" in last.message


async def test_a_resumed_run_survives_the_grace_period() -> None:
    """A run someone re-attached to before the deadline is not cancelled."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    registry.detached(run)
    run.subscribe(Sink())
    registry.attached(run)
    await past_the_grace()
    assert not run.cancel_signal.is_set() and run.state is RunState.RUNNING


async def test_a_resume_clears_the_pending_cancel_of_the_earlier_detach() -> None:
    """After ``attached`` the old detach timer is gone: only a new ``detached`` can start one."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    registry.detached(run)
    sink = Sink()
    run.subscribe(sink)
    registry.attached(run)
    run.unsubscribe(sink)
    await past_the_grace()
    assert not run.cancel_signal.is_set()


async def test_a_run_with_a_subscriber_at_the_deadline_is_not_cancelled() -> None:
    """Even without ``attached``, the reaper spares a run that has a subscriber when it fires."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    registry.detached(run)
    run.subscribe(Sink())
    await past_the_grace()
    assert not run.cancel_signal.is_set()


async def test_detaching_a_run_that_still_has_subscribers_schedules_nothing() -> None:
    """``detached`` while a subscriber is attached is a no-op: a later leave is not reaped."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    sink = Sink()
    run.subscribe(sink)
    registry.detached(run)
    run.unsubscribe(sink)
    await past_the_grace()
    assert not run.cancel_signal.is_set()


async def test_a_finished_run_is_kept_for_replay_within_the_window() -> None:
    """A run that ended is still found by its owner (to replay) while inside keep_finished."""
    registry = RunRegistry(keep_finished=600.0)
    run = registry.add(Run(owner="u"))
    run.start(until_cancelled)
    run.cancel("stop", grace=3600)
    await run.wait()
    registry.add(Run(owner="u"))
    assert registry.get(run.id, "u") is run
    assert run not in registry.active()


async def test_finished_runs_past_the_window_are_pruned_on_the_next_add() -> None:
    """Once its replay window is over, a finished run is dropped when another run is added."""
    registry = RunRegistry(keep_finished=-1.0)
    run = registry.add(Run(owner="u"))
    run.start(until_cancelled)
    run.cancel("stop", grace=3600)
    await run.wait()
    await asyncio.sleep(0)  # let the registry's done-watcher record the end
    live = registry.add(Run(owner="u"))
    assert registry.get(run.id, "u") is None
    assert registry.get(live.id, "u") is live and len(registry) == 1


async def test_cancel_all_ends_every_live_run() -> None:
    """Shutdown cancels each live run with its reason and waits until all have ended."""
    registry = RunRegistry()
    runs = [registry.add(Run(owner="u")) for _ in range(3)]
    for run in runs:
        run.start(until_cancelled)
    await registry.cancel_all("shutting down")
    assert [run.state for run in runs] == [RunState.CANCELLED] * 3
    assert registry.active() == []
    assert all(run.cancel_reason == "shutting down" for run in runs)


async def test_a_run_spared_once_is_cancelled_after_a_later_detach() -> None:
    """A reaper that found a subscriber leaves no trace: the next detach starts a fresh one."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    run.start(until_cancelled)
    registry.detached(run)
    sink = Sink()
    run.subscribe(sink)
    await past_the_grace()
    run.unsubscribe(sink)
    registry.detached(run)
    await past_the_grace()
    assert run.cancel_signal.is_set()
    await run.wait()
    assert run.state is RunState.CANCELLED


async def test_a_run_watched_only_by_the_recorder_is_still_cancelled_when_detached() -> None:
    """A watcher (the store recorder) does not count: the detach grace still cancels the run."""
    registry = RunRegistry(detach_grace=GRACE)
    run = registry.add(Run(owner="u"))
    recorder = Sink()
    run.watch(recorder)
    run.start(until_cancelled)
    registry.detached(run)
    await past_the_grace()
    await run.wait()
    assert run.state is RunState.CANCELLED and recorder.events[-1].type == "RUN_ERROR"


async def test_finished_runs_over_the_cap_are_dropped_oldest_first() -> None:
    """With max_finished=2, a third finished run pushes the oldest out of memory."""
    registry = RunRegistry(max_finished=2)
    ended = []
    for _ in range(3):
        run = registry.add(Run(owner="u"))
        run.start(until_cancelled)
        run.cancel("stop", grace=3600)
        await run.wait()
        await asyncio.sleep(0)  # let the done-watcher record the end
        ended.append(run)
    registry.add(Run(owner="u"))
    assert registry.get(ended[0].id, "u") is None
    assert registry.get(ended[1].id, "u") is ended[1] and registry.get(ended[2].id, "u")


async def test_one_more_live_run_than_allowed_is_refused() -> None:
    """check_quota refuses a user at max_active_per_user live runs, not another user."""
    registry = RunRegistry(max_active_per_user=2)
    for _ in range(2):
        registry.add(Run(owner="u")).start(until_cancelled)
    with pytest.raises(TooManyRuns):
        registry.check_quota("u")
    registry.check_quota("v")
    await registry.cancel_all()


async def test_cancel_all_returns_even_when_a_run_never_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shutdown waits a bounded time for runs, even one whose end never comes."""
    monkeypatch.setattr("agentstream.runs.registry.SHUTDOWN_WAIT_S", 0.05)
    registry = RunRegistry()
    run = registry.add(Run(owner="u"))  # registered but never started: nothing will end it
    await asyncio.wait_for(registry.cancel_all(), 5)
    assert not run.done.is_set()


async def test_a_run_that_ends_frees_its_place_in_the_quota() -> None:
    """Once one of a user's runs ends, check_quota lets the user start another."""
    registry = RunRegistry(max_active_per_user=1)
    run = registry.add(Run(owner="u"))
    run.start(until_cancelled)
    with pytest.raises(TooManyRuns):
        registry.check_quota("u")
    run.cancel("stop")
    await run.wait()
    registry.check_quota("u")
    assert registry.active() == []


async def test_idle_callbacks_run_when_the_last_live_run_ends() -> None:
    """on_idle fires once the process holds no live run, not while any run still streams."""
    registry, idle = RunRegistry(), []
    registry.on_idle(lambda: idle.append(len(registry.active())))
    first = registry.add(Run(owner="alice"))
    second = registry.add(Run(owner="bob"))
    first.publish(RunError(message="stop", code="cancelled"))
    assert idle == []
    second.publish(RunError(message="stop", code="cancelled"))
    assert idle == [0]
