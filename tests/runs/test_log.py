"""The bounded replay log: it keeps the newest events and reports a gap rather than skip one."""

from __future__ import annotations

import pytest

from agentstream.protocol.events import TextMessageChunk, stamp
from agentstream.runs.log import LogGap, RunLog
from agentstream.runs.run import Run


def filled(capacity: int, count: int) -> RunLog:
    """A log of ``capacity`` that was handed events seq 1..count."""
    log = RunLog(capacity)
    for seq in range(1, count + 1):
        log.append(stamp(TextMessageChunk(delta=str(seq)), run_id="run_l", seq=seq, ts=0.0))
    return log


def seqs(log: RunLog, after: int) -> list[int]:
    return [e.seq for e in log.after(after)]


def test_replay_from_a_dropped_seq_reports_a_gap() -> None:
    """A log that no longer holds the requested events says so instead of skipping them."""
    run = Run(owner="u", log_capacity=3)
    for i in range(6):
        run.publish(TextMessageChunk(delta=str(i)))
    assert [e.seq for e in run.log.after(3)] == [4, 5, 6]
    with pytest.raises(LogGap):
        run.log.after(1)


def test_an_empty_log_replays_nothing_and_its_last_seq_is_zero() -> None:
    """Nothing published yet: last_seq is 0 and any replay is empty, not a gap."""
    log = RunLog(3)
    assert log.last_seq == 0 and len(log) == 0
    assert seqs(log, 0) == []


def test_the_log_keeps_only_the_newest_capacity_events() -> None:
    """Past its capacity the log drops the oldest events and holds exactly ``capacity``."""
    log = filled(capacity=3, count=6)
    assert len(log) == 3 and log.last_seq == 6


def test_a_log_filled_exactly_to_capacity_replays_everything() -> None:
    """At capacity nothing is dropped yet: replay from 0 returns every event, no gap."""
    assert seqs(filled(capacity=3, count=3), 0) == [1, 2, 3]


def test_replay_from_just_before_the_oldest_kept_event_is_complete() -> None:
    """Kept 4..6: replay after 3 starts exactly at the oldest kept event (the edge, no gap)."""
    assert seqs(filled(capacity=3, count=6), 3) == [4, 5, 6]


def test_replay_from_one_further_back_is_a_gap_naming_the_lost_events() -> None:
    """Kept 4..6: replay after 2 needs event 3, which is gone: a LogGap naming 3..3."""
    with pytest.raises(LogGap, match=r"events 3\.\.3 are no longer kept"):
        filled(capacity=3, count=6).after(2)


@pytest.mark.parametrize(("after", "expected"), [(4, [5, 6]), (5, [6]), (6, []), (7, [])])
def test_replay_returns_exactly_the_events_after_the_given_seq(
    after: int, expected: list[int]
) -> None:
    """Replay starts at after+1; at or past the newest seq it is empty."""
    assert seqs(filled(capacity=3, count=6), after) == expected


def test_the_gap_is_a_lookup_error() -> None:
    """Callers that treat a missing replay as a lookup miss can catch LogGap as LookupError."""
    assert issubclass(LogGap, LookupError)
