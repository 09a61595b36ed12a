"""Merging text deltas so fewer frames carry the same words.

Two ``TextMessageChunk`` events of the same run and message merge into one whose ``delta`` is the
concatenation and whose ``seq``/``ts`` are the later event's. A merged frame therefore carries the
``seq`` of its last chunk: ``seq`` stays a high-water mark a client can resume from, with no
duplicate, but it may skip numbers. Nothing else ever merges, so order is kept.
"""

from __future__ import annotations

import dataclasses

from agentstream.protocol.events import Event, TextMessageChunk


def merge(first: object, second: Event) -> Event | None:
    """``first`` and ``second`` as one event, or None when they must stay apart."""
    if not (isinstance(first, TextMessageChunk) and isinstance(second, TextMessageChunk)):
        return None
    if first.run_id != second.run_id or first.message_id != second.message_id:
        return None
    return dataclasses.replace(second, delta=first.delta + second.delta)
