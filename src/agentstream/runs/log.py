"""A bounded, in-memory replay log of one run's events.

The log keeps the newest ``capacity`` events. Replaying from a ``seq`` older than the oldest kept
event is reported as a gap (the caller answers ``expired``) rather than silently skipping events.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from agentstream.errors import AgentstreamError
from agentstream.protocol.events import Event


class LogGap(AgentstreamError, LookupError):
    """Events the caller asked for have been dropped from the log."""

    code: ClassVar[str] = "log_gap"
    http_status: ClassVar[int] = 410


class RunLog:
    """The newest events of a run, in ``seq`` order."""

    def __init__(self, capacity: int = 10_000) -> None:
        """Keep at most ``capacity`` events."""
        self._events: deque[Event] = deque(maxlen=capacity)

    def append(self, event: Event) -> None:
        """Add the next event (its ``seq`` follows the last one)."""
        self._events.append(event)

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest event (0 when empty)."""
        return self._events[-1].seq if self._events else 0

    def after(self, seq: int) -> list[Event]:
        """Every kept event with a ``seq`` greater than ``seq``.

        Raises:
            LogGap: some of those events are no longer kept.
        """
        if not self._events or seq >= self.last_seq:
            return []
        first = self._events[0].seq
        if seq + 1 < first:
            raise LogGap(f"events {seq + 1}..{first - 1} are no longer kept")
        start = seq + 1 - first
        return [self._events[i] for i in range(start, len(self._events))]

    def __len__(self) -> int:
        """How many events are kept."""
        return len(self._events)
