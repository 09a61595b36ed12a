"""The run driver: gap-free seq, exactly-once replay on subscribe, cancel and failure as terminal
events. No test here depends on how long a sleep lasts: producers wait on gates the test opens."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from agentstream.agents.invoke import TokenLimit
from agentstream.apps.realestate.embedding import EmbeddingUnavailable
from agentstream.errors import AgentstreamError
from agentstream.models.scripted import ScriptedModelError
from agentstream.models.weights import WeightsError
from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.run import Run, RunState


class Sink:
    def __init__(self, wake_at: int = 0) -> None:
        self.events: list[Event] = []
        self.wake_at = wake_at
        self.reached = asyncio.Event()

    def deliver(self, event: Event) -> None:
        self.events.append(event)
        if event.seq >= self.wake_at:
            self.reached.set()

    @property
    def seqs(self) -> list[int]:
        return [e.seq for e in self.events]


def words(n: int) -> object:
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
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
    gate = asyncio.Event()

    async def paused(run: Run) -> AsyncIterator[Event]:
        for i in range(10):
            yield TextMessageChunk(delta=f"w{i} ")
        await gate.wait()  # the run is mid-stream here, for as long as the test needs
        for i in range(10, 20):
            yield TextMessageChunk(delta=f"w{i} ")
        yield RunFinished(result=None)

    run, early, late = Run(owner="u"), Sink(wake_at=11), Sink()
    run.subscribe(early)
    run.start(paused)
    await early.reached.wait()
    assert run.last_seq == 11 and not run.finished
    assert run.subscribe(late, after_seq=3) == 8  # 4..11 replayed
    gate.set()
    await run.wait()
    assert late.seqs == list(range(4, 23))
    assert early.seqs == list(range(1, 23))


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

    run, sink = Run(owner="u"), Sink(wake_at=2)
    run.subscribe(sink)
    run.start(stubborn)
    await sink.reached.wait()  # the producer is now asleep for an hour
    assert run.cancel(grace=0)
    await asyncio.wait_for(run.wait(), 30)
    assert isinstance(sink.events[-1], RunError) and sink.events[-1].code == "cancelled"
    assert run.state is RunState.CANCELLED
    assert not run.cancel()


async def test_nothing_is_published_after_the_end() -> None:
    """Events after the terminal one are dropped, so a finished run stays finished."""
    run = Run(owner="u")
    run.publish(RunFinished(result=None))
    run.publish(TextMessageChunk(delta="late"))
    assert run.last_seq == 1


async def test_a_producer_that_checks_the_signal_ends_cancelled_without_force() -> None:
    """A cooperative producer sees cancel_signal and the run ends 'cancelled' with its reason."""
    gate = asyncio.Event()

    async def polite(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        await gate.wait()
        if not run.cancel_signal.is_set():
            yield TextMessageChunk(delta="never")

    run, sink = Run(owner="u"), Sink(wake_at=2)
    run.subscribe(sink)
    run.start(polite)
    await sink.reached.wait()
    assert run.cancel("stop please", grace=3600)
    gate.set()
    await run.wait()
    last = sink.events[-1]
    assert isinstance(last, RunError) and (last.code, last.message) == ("cancelled", "stop please")
    assert [e.type for e in sink.events].count("TEXT_MESSAGE_CHUNK") == 1


async def test_a_producer_that_ends_without_a_terminal_event_finishes_the_run() -> None:
    """A producer that just stops gets RUN_FINISHED with no result."""

    async def quiet(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")

    run, sink = Run(owner="u"), Sink()
    run.subscribe(sink)
    run.start(quiet)
    await run.wait()
    assert isinstance(sink.events[-1], RunFinished) and run.state is RunState.FINISHED


class _Coded(AgentstreamError):
    code: ClassVar[str] = "coded_leaf"


class _ClaimsACode(ValueError):
    """Not under the root, though it carries a ``code`` attribute."""

    code = "guessed"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_Coded("typed"), "coded_leaf"),
        (ScriptedModelError("scripted"), "model_error"),
        (TokenLimit("too long"), "max_tokens"),
        (EmbeddingUnavailable("no model"), "embedding_unavailable"),
        (WeightsError("no weights"), "weights_error"),
        (_ClaimsACode("untyped"), "internal_error"),
        (KeyError("bug"), "internal_error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
async def test_run_error_code_is_the_typed_code_or_internal_error(
    error: Exception, code: str
) -> None:
    """A producer's AgentstreamError ends the run with its code; any other error: internal_error."""

    async def failing(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        raise error

    run, sink = Run(owner="u"), Sink()
    run.subscribe(sink)
    run.start(failing)
    await run.wait()
    last = sink.events[-1]
    assert isinstance(last, RunError) and last.code == code
    assert run.state is RunState.FAILED


def test_a_recursion_error_reaches_the_client_as_its_type_only() -> None:
    """'maximum recursion depth exceeded' (or an OSError's path) is not sent to the client."""
    from agentstream.runs.run import _describe

    assert _describe(RecursionError("maximum recursion depth exceeded")) == (
        "internal error (RecursionError)"
    )
    assert "/etc" not in _describe(IsADirectoryError(21, "Is a directory", "/etc"))


class FlushingSink(Sink):
    """A subscriber that can write at once: records how many events it had at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes: list[int] = []

    def flush_now(self) -> None:
        self.flushes.append(len(self.events))


async def test_subscribers_flush_when_the_producer_waits_and_at_its_end() -> None:
    """flush_now is called after the start, each time the producer waits, and at the end."""

    async def produce(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        yield TextMessageChunk(delta="b")
        await asyncio.sleep(0)  # the model waits for its next token
        yield TextMessageChunk(delta="c")
        yield RunFinished(result=None)

    run, sink = Run(owner="u"), FlushingSink()
    run.subscribe(sink)
    run.start(produce)
    await run.wait()
    # 1: RUN_STARTED; 3: + a, b (the wait); 5: + c and the end.
    assert sink.flushes[0] == 1 and 3 in sink.flushes and sink.flushes[-1] == 5


async def test_a_producer_cancelled_while_waiting_still_ends_the_run() -> None:
    """A producer that ignores cancel has its wait cancelled through the flush hook: it ends."""
    never = asyncio.Event()

    async def stubborn(run: Run) -> AsyncIterator[Event]:
        yield TextMessageChunk(delta="a")
        await never.wait()
        yield RunFinished(result=None)

    run, sink = Run(owner="u"), FlushingSink()
    run.subscribe(sink)
    run.start(stubborn)
    await asyncio.sleep(0)
    assert run.cancel("stop", grace=0.01)
    await asyncio.wait_for(run.wait(), 5)
    assert run.state is RunState.CANCELLED and sink.events[-1].type == "RUN_ERROR"


class Watcher(Sink):
    """Refers back to its run, as the store recorder's watcher does."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run


async def test_an_ended_run_lets_go_of_its_listeners_and_is_freed_without_the_collector() -> None:
    """Once its task ends a run drops subscribers and watchers: no cycle outlives it in memory."""
    gc.disable()
    try:
        run, sink = Run(owner="u"), Sink()
        watcher = Watcher(run)
        run.watch(watcher)
        run.subscribe(sink)
        await run.start(words(3))  # type: ignore[arg-type]
        assert sink.seqs == watcher.seqs == [1, 2, 3, 4, 5]
        assert run.subscriber_count == 0
        freed = weakref.ref(run)
        del run, watcher
        assert freed() is None
    finally:
        gc.enable()
