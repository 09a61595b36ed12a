"""The AWS event-stream encoder (``application/vnd.amazon.eventstream``). No I/O.

botocore ships only the decoder (``botocore.eventstream``) and awscrt has no standalone
encoder, so these ~30 lines of ``struct`` and CRC32 write what Bedrock's streaming operations
send: a prelude (total length, headers length, prelude CRC), string headers, the payload, and a
message CRC. ``tests/aws/emulator/test_eventstream.py`` round-trips it through botocore's parser.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_STRING = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    """Headers as event-stream bytes (every value a string, type 7)."""
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    head = encode_headers(headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(event_type: str, data: Any) -> bytes:
    """An ``:message-type: event`` message with a JSON payload."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, json.dumps(data, separators=(",", ":")).encode())


def exception(exception_type: str, message: str) -> bytes:
    """An ``:message-type: exception`` message (botocore raises ``EventStreamError``)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode())
