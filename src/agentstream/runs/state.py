"""A run's life as a table: one :class:`RunState` for the whole project.

Runs, the stores and the wire (``resume``/``cancel`` answers) all use these four names. A run
starts ``running`` and leaves it once, on its terminal event; nothing leaves an end state. The
table below is the whole rule (h11 style), so a test can read it and a reader need not trace ifs.
"""

from __future__ import annotations

import enum
from typing import Final

from agentstream.protocol.events import Event, RunError, RunFinished


class RunState(enum.StrEnum):
    """Where a run is in its life (also the ``state`` recorded in the store)."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outcome(enum.StrEnum):
    """How a terminal event ends a run."""

    FINISH = "finish"
    FAIL = "fail"
    CANCEL = "cancel"


TRANSITIONS: Final[dict[tuple[RunState, Outcome], RunState]] = {
    (RunState.RUNNING, Outcome.FINISH): RunState.FINISHED,
    (RunState.RUNNING, Outcome.FAIL): RunState.FAILED,
    (RunState.RUNNING, Outcome.CANCEL): RunState.CANCELLED,
}
"""Every allowed move; a (state, outcome) pair missing here leaves the state as it is."""

CANCELLED_CODE: Final = "cancelled"


def outcome_of(event: Event) -> Outcome | None:
    """How ``event`` ends its run, or None when it does not."""
    if isinstance(event, RunFinished):
        return Outcome.FINISH
    if isinstance(event, RunError):
        return Outcome.CANCEL if event.code == CANCELLED_CODE else Outcome.FAIL
    return None


def next_state(state: RunState, event: Event) -> RunState:
    """The state after ``event`` is published in ``state`` (from :data:`TRANSITIONS`)."""
    outcome = outcome_of(event)
    if outcome is None:
        return state
    return TRANSITIONS.get((state, outcome), state)
