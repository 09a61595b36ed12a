"""The event-stream encoder round-trips through botocore's own decoder."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from agentstream.aws.emulator import eventstream


def _decode(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def test_event_round_trips_through_botocore() -> None:
    """Headers and JSON payload come back as written, including multi-byte text."""
    data = eventstream.event(
        "contentBlockDelta", {"delta": {"text": "héllo ✓"}, "contentBlockIndex": 0}
    )
    ((headers, payload),) = _decode(data)
    assert headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(payload) == {"delta": {"text": "héllo ✓"}, "contentBlockIndex": 0}


def test_messages_split_at_every_byte_decode_the_same() -> None:
    """Two messages fed one byte at a time decode to the same two messages."""
    data = eventstream.event("messageStart", {"role": "assistant"}) + eventstream.exception(
        "throttlingException", "slow down"
    )
    buffer = EventStreamBuffer()
    decoded = []
    for i in range(len(data)):
        buffer.add_data(data[i : i + 1])
        decoded.extend(buffer)
    assert [m.headers[":message-type"] for m in decoded] == ["event", "exception"]
    assert decoded[1].headers[":exception-type"] == "throttlingException"


def test_corrupted_byte_fails_the_checksum() -> None:
    """Flipping a payload byte breaks the message CRC (botocore refuses it)."""
    data = bytearray(eventstream.event("messageStop", {"stopReason": "end_turn"}))
    data[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(data))
