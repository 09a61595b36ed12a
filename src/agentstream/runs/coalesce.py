"""Merging text deltas so fewer frames carry the same words.

Two ``TextMessageChunk`` events of the same run, message and role merge into one whose ``delta``
is the concatenation and whose ``seq``/``ts`` are the later event's. A merged frame therefore
carries the ``seq`` of its last chunk: ``seq`` stays a high-water mark a client can resume from,
with no duplicate, but it may skip numbers (a connection's frame names its ``firstSeq``). Nothing
else ever merges, so order is kept.
"""

from __future__ import annotations

import dataclasses

from agentstream.protocol.events import Event, TextMessageChunk

# API Gateway splits WebSocket frames at 32 KB; a merged delta stays under that.
MAX_MERGED_CHARS = 16 * 1024


def joins(last: TextMessageChunk, event: TextMessageChunk, size: int) -> bool:
    """Whether ``event`` may follow ``last`` in one merged frame that holds ``size`` chars so far.

    The one merging rule, shared by connections (``gateway.outbox``) and the recorder.
    """
    return (
        event.run_id == last.run_id
        and event.message_id == last.message_id
        and event.role == last.role
        and size + len(event.delta) <= MAX_MERGED_CHARS
    )


def merge(first: object, second: Event) -> Event | None:
    """``first`` and ``second`` as one event, or None when they must stay apart."""
    if not (isinstance(first, TextMessageChunk) and isinstance(second, TextMessageChunk)):
        return None
    if not joins(first, second, len(first.delta)):
        return None
    return dataclasses.replace(second, delta=first.delta + second.delta)
