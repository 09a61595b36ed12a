"""A connection's outbox: merging and overflow rules with no socket.

Runs deliver events synchronously; the outbox keeps them until the writer takes them, rendered in
the connection's dialect. Text deltas waiting in the outbox merge (coalescing): always when the
connection asked for a window, and whenever the client falls behind, so a slow reader gets fewer,
larger frames. Anything but text is *urgent*: it ends a coalescing wait at once. An outbox that
fills up anyway reports overflow; the connection then closes the client with 1013. Feed it
events, read frames back: that is how it is tested.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from agentstream.protocol.codec import dumps, frame_text
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import Dialect
from agentstream.protocol.events import Event, TextMessageChunk
from agentstream.runs.coalesce import merge

logger = logging.getLogger(__name__)

BEHIND_MIN = 8


class Outbox:
    """Frames waiting for one client, in order, bounded by ``limit``."""

    def __init__(self, dialect: Dialect, *, limit: int, coalesce: bool = False) -> None:
        """Hold at most ``limit`` frames; ``coalesce``: merge text even when not behind."""
        self.dialect = dialect
        self.limit = limit
        self.coalesce = coalesce
        # Past this backlog, text merges even with no window: the client is falling behind.
        # (Half the limit, so the burst of a replay alone does not count as falling behind.)
        self.behind = max(BEHIND_MIN, limit // 2)
        self.urgent = False
        self.overflowed = False
        self._items: deque[Event | str] = deque()
        # The event behind the frame ``take`` returned last (None for a control frame).
        self.taken: Event | None = None

    def add_event(self, event: Event) -> bool:
        """Queue one run event (merging text when allowed); False once the outbox overflowed."""
        if self.overflowed:
            return False
        if self._items and (self.coalesce or len(self._items) >= self.behind):
            merged = merge(self._items[-1], event)
            if merged is not None:
                self._items[-1] = merged
                return True
        return self._push(event, urgent=not isinstance(event, TextMessageChunk))

    def add_control(self, control: Control) -> bool:
        """Queue a control answer, rendered now; False once the outbox overflowed."""
        if self.overflowed:
            return False
        return self._push(self._encoded(lambda: self.dialect.render_control(control)), urgent=True)

    def _push(self, item: Event | str, *, urgent: bool) -> bool:
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
        self.taken = item
        # Encoded once per dialect and kept on the event: other connections in this dialect,
        # a replay and the recorder reuse the text. (Inline, not through _encoded: no closure
        # per frame on the per-token path.)
        dialect = self.dialect
        try:
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
