"""The run's life as a table: which terminal event moves which state where."""

from __future__ import annotations

import pytest

from agentstream.protocol.events import Event, RunError, RunFinished, TextMessageChunk
from agentstream.runs.state import TRANSITIONS, Outcome, RunState, next_state, outcome_of

CASES: list[tuple[RunState, Event, RunState]] = [
    (RunState.RUNNING, TextMessageChunk(delta="x"), RunState.RUNNING),
    (RunState.RUNNING, RunFinished(result=1), RunState.FINISHED),
    (RunState.RUNNING, RunError(message="boom", code="model_error"), RunState.FAILED),
    (RunState.RUNNING, RunError(message="stop", code="cancelled"), RunState.CANCELLED),
    (RunState.FINISHED, RunError(message="late", code="cancelled"), RunState.FINISHED),
    (RunState.FAILED, RunFinished(), RunState.FAILED),
    (RunState.CANCELLED, RunFinished(), RunState.CANCELLED),
]


@pytest.mark.parametrize(("before", "event", "after"), CASES)
def test_transitions(before: RunState, event: Event, after: RunState) -> None:
    """Each (state, event) pair leads where the table says; end states never move."""
    assert next_state(before, event) is after


def test_the_table_only_leaves_running() -> None:
    """Every allowed move starts at running and ends in a different, final state."""
    assert {start for start, _ in TRANSITIONS} == {RunState.RUNNING}
    assert set(TRANSITIONS.values()) == {RunState.FINISHED, RunState.FAILED, RunState.CANCELLED}


def test_outcomes() -> None:
    """RUN_FINISHED finishes, RUN_ERROR fails unless its code is 'cancelled', others do nothing."""
    assert outcome_of(RunFinished()) is Outcome.FINISH
    assert outcome_of(RunError(message="x", code="cancelled")) is Outcome.CANCEL
    assert outcome_of(RunError(message="x")) is Outcome.FAIL
    assert outcome_of(TextMessageChunk(delta="x")) is None


def test_states_are_the_store_strings() -> None:
    """The enum's values are the strings stores and the wire use (so rows compare equal)."""
    assert [s.value for s in RunState] == ["running", "finished", "failed", "cancelled"]
    assert RunState.FINISHED == "finished"
