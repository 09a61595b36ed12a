"""Runs: gap-free seq, exactly-once replay on subscribe, cancel and failure as terminal events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.log import LogGap
from agentstream.runs.run import Run, RunState


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    @property
    def seqs(self) -> list[int]:
        return [e.seq for e in self.events]


def words(n: int, pause: float = 0.0) -> object:
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
            await asyncio.sleep(pause)
            yield TextMessageChunk(delta=f"w{i} ")
        yield RunFinished(result={"n": n})

    return produce


async def test_seq_is_gap_free_and_starts_at_one() -> None:
    """Published events are numbered 1..n with RunStarted first and RunFinished last."""
    run, sink = Run(owner="u"), Sink()
    run.subscribe(sink)
    run.start(words(5))  # type: ignore[arg-type]
    await run.wait()
    assert sink.seqs == list(range(1, 8))
    assert sink.events[0].type == "RUN_STARTED" and sink.events[-1].type == "RUN_FINISHED"
    assert run.state is RunState.FINISHED


async def test_late_subscriber_gets_each_event_exactly_once() -> None:
    """Subscribing mid-run after seq k replays k+1.. then continues live, no gap, no duplicate."""
    run, late = Run(owner="u"), Sink()
    run.start(words(50, pause=0.001))  # type: ignore[arg-type]
    await asyncio.sleep(0.02)
    seen = run.last_seq
    run.subscribe(late, after_seq=3)
    await run.wait()
    assert seen > 3
    assert late.seqs == list(range(4, run.last_seq + 1))


async def test_producer_exception_becomes_run_error() -> None:
    """A failing producer ends the run with RUN_ERROR naming the exception, not a crash."""

    async def broken(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        raise ValueError("bad thing")

    run, sink = Run(owner="u"), Sink()
    run.subscribe(sink)
    run.start(broken)
    await run.wait()
    last = sink.events[-1]
    assert isinstance(last, RunError) and "bad thing" in last.message
    assert run.state is RunState.FAILED


async def test_cancel_ends_with_cancelled_error_even_if_producer_ignores_it() -> None:
    """cancel() ends the run with code 'cancelled', forcing a producer that never checks."""

    async def stubborn(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        await asyncio.sleep(3600)
        yield TextMessageChunk(delta="never")

    run, sink = Run(owner="u"), Sink()
    run.subscribe(sink)
    run.start(stubborn)
    await asyncio.sleep(0.01)
    assert run.cancel(grace=0.05)
    await asyncio.wait_for(run.wait(), 2)
    assert isinstance(sink.events[-1], RunError) and sink.events[-1].code == "cancelled"
    assert run.state is RunState.CANCELLED
    assert not run.cancel()


async def test_nothing_is_published_after_the_end() -> None:
    """Events after the terminal one are dropped, so a finished run stays finished."""
    run = Run(owner="u")
    run.publish(RunFinished(result=None))
    run.publish(TextMessageChunk(delta="late"))
    assert run.last_seq == 1


def test_replay_from_a_dropped_seq_reports_a_gap() -> None:
    """A log that no longer holds the requested events says so instead of skipping them."""
    run = Run(owner="u", log_capacity=3)
    for i in range(6):
        run.publish(TextMessageChunk(delta=str(i)))
    assert [e.seq for e in run.log.after(3)] == [4, 5, 6]
    with pytest.raises(LogGap):
        run.log.after(1)
