"""A connection's outbox: merging and overflow rules with no socket.

Runs deliver events synchronously; the outbox keeps them until the writer takes them, rendered in
the connection's dialect. Text deltas merge in three cases:

- ``merge_waiting`` (a client that asked with ``?coalesce=auto``, as agentstream's own clients
  do): a delta that arrives while the previous delta of the same message has not been written
  yet joins it, so the client never waits behind a queue of one-token frames. That costs no delay
  (nothing waits to merge; the writer sends what it finds) and is what lets the gateway outrun a
  bare per-token endpoint under load: a busy server sends fewer, larger frames instead of falling
  further behind.
- ``coalesce`` (a window, ``?coalesce=<ms>``): the writer waits for more text meanwhile.
- Any client, once it falls behind by half the limit: fewer frames instead of a 1013.

Otherwise each event is one frame. A merged frame carries the ``seq`` of its last delta and
``firstSeq``, the ``seq`` of its first, so a client that checks for gaps knows the frame covers
every number in between (a client that did not ask for merging sees one only when it falls far
behind, so ``seq`` without gaps stays the norm for clients written before ``firstSeq``).

Anything but text is *urgent*: it ends a coalescing wait at once. An outbox that fills up anyway
reports overflow; the connection then closes the client with 1013. Feed it events, read frames
back: that is how it is tested.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from agentstream.protocol.codec import dumps, frame_text
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import Dialect, with_first_seq
from agentstream.protocol.events import Event, TextMessageChunk
from agentstream.runs.coalesce import joins

logger = logging.getLogger(__name__)

BEHIND_MIN = 8
# The empty outbox every connection starts with; never appended to (see Outbox._push).
_NONE: deque[Any] = deque(maxlen=0)


class _Text:
    """Consecutive deltas of one message waiting to go out as one frame (joined when taken)."""

    __slots__ = ("first", "last", "parts", "size")

    def __init__(self, first: TextMessageChunk) -> None:
        self.first = first
        self.last = first
        self.parts = [first.delta]
        self.size = len(first.delta)

    def joins(self, event: TextMessageChunk) -> bool:
        """Whether ``event`` may merge here (:func:`runs.coalesce.joins`)."""
        return joins(self.last, event, self.size)

    def add(self, event: TextMessageChunk) -> None:
        self.last = event
        self.parts.append(event.delta)
        self.size += len(event.delta)

    def event(self) -> TextMessageChunk:
        """The merged event: the last delta's envelope with every delta's text."""
        if len(self.parts) == 1:
            return self.first
        return dataclasses.replace(self.last, delta="".join(self.parts))


class Outbox:
    """Frames waiting for one client, in order, bounded by ``limit``."""

    def __init__(
        self, dialect: Dialect, *, limit: int, coalesce: bool = False, merge_waiting: bool = False
    ) -> None:
        """Hold at most ``limit`` frames.

        Args:
            dialect: How frames are rendered.
            limit: Frames that may wait; one more overflows.
            coalesce: The writer waits for more text (a window), so text merges meanwhile.
            merge_waiting: Text merges into waiting text of the same message; False keeps one
                frame per event until the client falls behind.
        """
        self.dialect = dialect
        self.limit = limit
        self.coalesce = coalesce
        self.merge_waiting = merge_waiting
        # Past this backlog, text merges in any case: the client is falling behind. (Half the
        # limit, so the burst of a replay alone does not count as behind.)
        self.behind = max(BEHIND_MIN, limit // 2)
        self.urgent = False
        self.overflowed = False
        # Made on the first frame: an idle connection's outbox holds no deque (memory).
        self._items: deque[Event | str | _Text] = _NONE
        # The event behind the frame ``take`` returned last (None for a control frame); for a
        # merged frame, its first delta (the oldest text in it, for latency).
        self.taken: Event | None = None

    def add_event(self, event: Event) -> bool:
        """Queue one run event (merging text when allowed); False once the outbox overflowed."""
        if self.overflowed:
            return False
        if isinstance(event, TextMessageChunk):
            items = self._items
            if items and (self.merge_waiting or self.coalesce or len(items) >= self.behind):
                last = items[-1]
                if isinstance(last, _Text) and last.joins(event):
                    last.add(event)
                    return True
            return self._push(_Text(event), urgent=False)
        return self._push(event, urgent=True)

    def add_control(self, control: Control) -> bool:
        """Queue a control answer, rendered now; False once the outbox overflowed."""
        if self.overflowed:
            return False
        return self._push(self._encoded(lambda: self.dialect.render_control(control)), urgent=True)

    def _push(self, item: Event | str | _Text, *, urgent: bool) -> bool:
        if self._items is _NONE:
            self._items = deque()
        if len(self._items) >= self.limit:
            # Nothing queued will be sent: the client is closed as too slow.
            self._items.clear()
            self.overflowed = True
            return False
        self._items.append(item)
        self.urgent = self.urgent or urgent
        return True

    def take(self) -> str | None:
        """The next frame's text (rendered now), or None when empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        if isinstance(item, str):
            self.taken = None
            return item
        dialect = self.dialect
        try:
            if isinstance(item, _Text):
                self.taken = item.first
                if len(item.parts) > 1:  # a merged frame is this connection's own: no cache
                    frame = with_first_seq(dialect.render(item.event()), item.first.seq)
                    return dumps(frame)
                item = item.first
            else:
                self.taken = item
            # Encoded once per dialect and kept on the event: other connections in this
            # dialect, a replay and the recorder reuse the text. (Inline, not through
            # _encoded: no closure per frame on the per-token path.)
            return frame_text(item, dialect.name, dialect.render)
        except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
            return self._unencodable(exc)

    def _encoded(self, render: Callable[[], dict[str, Any]]) -> str:
        """The frame's text; a frame that cannot be encoded becomes an error frame.

        A writer must never die on one bad frame (the socket would stay open and silent).
        """
        try:
            return dumps(render())
        except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
            return self._unencodable(exc)

    def _unencodable(self, exc: Exception) -> str:
        logger.warning("outbox | frame could not be encoded: %s", type(exc).__name__)
        return dumps(self.dialect.render_error("a frame could not be encoded", "internal_error"))

    def take_all(self) -> list[str]:
        """Every waiting frame's text, in order, and clear the urgent mark."""
        self.urgent = False
        frames = []
        while (frame := self.take()) is not None:
            frames.append(frame)
        return frames

    def __len__(self) -> int:
        """How many frames are waiting."""
        return len(self._items)
