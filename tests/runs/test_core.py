"""The run as a plain object, with no event loop: publish, replay rules, subscribers, cancel."""

from __future__ import annotations

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.core import RunCore
from agentstream.runs.log import LogGap
from agentstream.runs.state import RunState


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    @property
    def seqs(self) -> list[int]:
        return [e.seq for e in self.events]


def core(n: int = 0, capacity: int = 100) -> RunCore:
    run = RunCore(owner="u", run_id="run_x", log_capacity=capacity, clock=lambda: 42.0)
    for i in range(n):
        run.publish(TextMessageChunk(delta=str(i)))
    return run


def test_publish_stamps_run_id_seq_and_time() -> None:
    """Each published event gets the run's id, the next seq and the clock's time."""
    run, sink = core(), Sink()
    run.subscribe(sink)
    first = run.publish(TextMessageChunk(delta="a"))
    second = run.publish(TextMessageChunk(delta="b"))
    assert (first.run_id, first.seq, first.ts) == ("run_x", 1, 42.0)
    assert second.seq == 2 and run.last_seq == 2 and sink.seqs == [1, 2]


def test_resume_replays_exactly_the_missed_events_then_attaches() -> None:
    """subscribe(after_seq=k) replays k+1..last and then receives live events once each."""
    run, sink = core(5), Sink()
    assert run.subscribe(sink, after_seq=2) == 3
    run.publish(TextMessageChunk(delta="live"))
    assert sink.seqs == [3, 4, 5, 6]


def test_resume_at_the_last_seq_replays_nothing() -> None:
    """A client that saw everything gets nothing replayed but stays attached."""
    run, sink = core(5), Sink()
    assert run.subscribe(sink, after_seq=5) == 0
    run.publish(TextMessageChunk(delta="live"))
    assert sink.seqs == [6]


def test_resume_past_the_last_seq_replays_nothing() -> None:
    """A lastSeq from the future is not an error; nothing is replayed."""
    run, sink = core(3), Sink()
    assert run.subscribe(sink, after_seq=99) == 0


def test_resume_from_zero_replays_everything() -> None:
    """after_seq=0 replays the whole kept log."""
    run, sink = core(4), Sink()
    run.subscribe(sink)
    assert sink.seqs == [1, 2, 3, 4]


def test_resume_of_a_finished_run_replays_and_does_not_attach() -> None:
    """A finished run replays its tail and keeps no subscriber."""
    run, sink = core(3), Sink()
    run.publish(RunFinished(result=None))
    assert run.subscribe(sink, after_seq=1) == 3
    assert run.subscriber_count == 0 and sink.seqs == [2, 3, 4]


def test_resume_from_before_the_kept_log_is_a_gap() -> None:
    """Events dropped from the bounded log cannot be replayed: LogGap, and nothing delivered."""
    run, sink = core(6, capacity=3), Sink()
    with pytest.raises(LogGap, match="2..3"):
        run.subscribe(sink, after_seq=1)
    assert sink.events == [] and run.subscriber_count == 0
    with pytest.raises(LogGap, match="3..3"):  # one event short: still a gap
        run.subscribe(sink, after_seq=2)
    assert run.subscribe(sink, after_seq=3) == 3  # the oldest kept event is 4


def test_subscribing_twice_delivers_once() -> None:
    """The same subscriber attached twice gets each live event once."""
    run, sink = core(), Sink()
    run.subscribe(sink)
    run.subscribe(sink)
    run.publish(TextMessageChunk(delta="a"))
    assert sink.seqs == [1]


def test_unsubscribe_stops_delivery() -> None:
    """After unsubscribe a subscriber gets nothing more."""
    run, sink = core(), Sink()
    run.subscribe(sink)
    run.unsubscribe(sink)
    run.unsubscribe(sink)  # twice is harmless
    run.publish(TextMessageChunk(delta="a"))
    assert sink.events == [] and run.subscriber_count == 0


class Broken(Sink):
    def deliver(self, event: Event) -> None:
        super().deliver(event)
        raise RuntimeError("a subscriber's bug")


def test_a_failing_subscriber_is_detached_and_the_others_still_get_the_event() -> None:
    """A subscriber that raises is dropped; the watcher and the subscriber after it are served."""
    run, watcher, broken, after = core(), Sink(), Broken(), Sink()
    run.subscribe(broken)
    run.subscribe(after)
    run.watch(watcher)
    run.publish(TextMessageChunk(delta="a"))
    run.publish(TextMessageChunk(delta="b"))
    assert broken.seqs == [1] and after.seqs == [1, 2] and watcher.seqs == [1, 2]
    assert run.subscriber_count == 1


def test_the_terminal_event_sets_the_state_and_is_delivered() -> None:
    """RUN_ERROR with code 'cancelled' ends the run cancelled; subscribers still get it."""
    run, sink = core(1), Sink()
    run.subscribe(sink)
    run.publish(RunError(message="stop", code="cancelled"))
    assert run.state is RunState.CANCELLED and run.finished
    assert isinstance(sink.events[-1], RunError)


def test_nothing_is_published_after_the_end() -> None:
    """Events after the terminal one are dropped: no seq, no log entry, no delivery."""
    run, sink = core(), Sink()
    run.subscribe(sink)
    run.publish(RunFinished(result=None))
    run.publish(TextMessageChunk(delta="late"))
    assert run.last_seq == 1 and len(run.log) == 1 and sink.seqs == [1]


def test_cancel_is_requested_once_and_never_after_the_end() -> None:
    """request_cancel raises the signal once; a second request or one after the end is refused."""
    run = core()
    assert run.request_cancel("why") and run.cancel_signal.is_set()
    assert run.cancel_reason == "why"
    assert not run.request_cancel("again") and run.cancel_reason == "why"
    done = core()
    done.publish(RunFinished())
    assert not done.request_cancel() and not done.cancel_signal.is_set()


def test_the_cancel_signal_handed_out_before_or_after_a_cancel_is_the_same_and_set() -> None:
    """One Event per run, made on first use, set whether the cancel came before or after it."""
    early = core()
    signal = early.cancel_signal
    assert not signal.is_set() and early.cancel_signal is signal
    early.request_cancel()
    assert signal.is_set()
    late = core()
    late.request_cancel()
    assert late.cancel_signal.is_set()


def test_setting_the_signal_directly_counts_as_a_cancel() -> None:
    """A signal set by hand (not through request_cancel) is a cancel: a later request is refused."""
    run = core()
    run.cancel_signal.set()
    assert run.cancel_asked and not run.request_cancel()


def test_a_republished_event_is_copied_not_changed() -> None:
    """An event already stamped by one run is copied when another publishes it."""
    first, second = core(), RunCore(owner="u", run_id="run_y")
    event = first.publish(TextMessageChunk(delta="a"))
    second.publish(TextMessageChunk(delta="b"))
    copy = second.publish(event)
    assert (event.run_id, event.seq) == ("run_x", 1) and (copy.run_id, copy.seq) == ("run_y", 2)


def test_end_callbacks_run_once_with_the_run_and_a_failing_one_is_contained() -> None:
    """on_end callbacks get the run once at its end; one that raises does not stop the others."""
    run = RunCore(owner="u")
    seen: list[str] = []

    def broken(r: RunCore) -> None:
        raise ValueError("observer bug")

    run.on_end(broken)
    run.on_end(lambda r: seen.append(r.state.value))
    run.publish(TextMessageChunk(delta="a"))
    assert seen == []
    run.publish(RunFinished())
    run.publish(RunFinished())
    assert seen == ["finished"]
