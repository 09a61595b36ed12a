"""Merging text deltas so fewer frames carry the same words.

Two ``TextMessageChunk`` events of the same run and message merge into one whose ``delta`` is the
concatenation and whose ``seq``/``ts`` are the later event's. A merged frame therefore carries the
``seq`` of its last chunk: ``seq`` stays a high-water mark a client can resume from, with no
duplicate, but it may skip numbers. Nothing else ever merges, so order is kept.
"""

from __future__ import annotations

import dataclasses

from agentstream.protocol.events import Event, TextMessageChunk

# API Gateway splits WebSocket frames at 32 KB; a merged delta stays under that.
MAX_MERGED_CHARS = 16 * 1024


def merge(first: object, second: Event) -> Event | None:
    """``first`` and ``second`` as one event, or None when they must stay apart."""
    if not (isinstance(first, TextMessageChunk) and isinstance(second, TextMessageChunk)):
        return None
    if first.run_id != second.run_id or first.message_id != second.message_id:
        return None
    if len(first.delta) + len(second.delta) > MAX_MERGED_CHARS:
        return None
    return dataclasses.replace(second, delta=first.delta + second.delta)
