"""Checks every backend runs on its inputs before touching storage, so all refuse alike.

Each check returns the value it accepts (or its serialized form) and raises
:class:`~agentstream.stores.errors.InvalidRecord` naming the offending field otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, cast

import orjson

from agentstream.stores.errors import InvalidRecord, LimitExceeded
from agentstream.stores.rows import RUN_STATES, RunState

# Ids are opaque: printable ASCII without spaces or "#" (a key separator in DynamoDB), so an
# API Gateway connection id ("L0SM9cOFvHcCIhw="), a Cognito sub or "google-oauth2|123" all fit.
_ID_RE: Final = re.compile(r"[\x21\x22\x24-\x7e]{1,256}")


def check_id(name: str, value: object) -> str:
    """Check an identifier (user, run, connection, thread) and return it."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidRecord(name, "must be 1-256 printable ASCII characters, no space or '#'")
    return value


def check_ttl(value: object) -> float:
    """Check a TTL in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidRecord("ttl_s", "must be a positive number of seconds")
    return float(value)


def check_state(state: object) -> RunState:
    """Check a run state (one of :data:`~agentstream.stores.rows.RUN_STATES`)."""
    if state not in RUN_STATES:
        raise InvalidRecord("state", f"must be one of {sorted(RUN_STATES)}")
    return cast(RunState, state)


def check_page(limit: object, most: int) -> int:
    """Check a listing's ``limit``: an integer from 1 to ``most``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidRecord("limit", "must be a positive integer")
    if limit > most:
        raise InvalidRecord("limit", f"must be at most {most}")
    return limit


def dumps(value: object, field: str, max_bytes: int) -> str:
    """Serialize ``value`` to JSON text, refusing what is not JSON or is over ``max_bytes``."""
    try:
        raw = orjson.dumps(value)
    except TypeError as exc:
        raise InvalidRecord(field, f"is not JSON-serializable ({exc})") from exc
    if len(raw) > max_bytes:
        raise InvalidRecord(field, f"is {len(raw)} bytes serialized, over the {max_bytes} limit")
    return raw.decode()


def check_meta(meta: Mapping[str, Any] | None, max_bytes: int) -> str:
    """Serialize a ``meta`` mapping (None means empty)."""
    if meta is None:
        return "{}"
    if not isinstance(meta, Mapping):
        raise InvalidRecord("meta", "must be an object")
    return dumps(dict(meta), "meta", max_bytes)


def check_message(message: object, max_bytes: int) -> str:
    """Serialize a chat message, which must be a JSON object."""
    if not isinstance(message, Mapping):
        raise InvalidRecord("message", "must be an object")
    return dumps(dict(message), "message", max_bytes)


def check_events(events: object, max_seq: int, max_bytes: int) -> list[tuple[int, str]]:
    """Check a batch of ``(seq, json_text)`` events."""
    if not isinstance(events, list):
        raise InvalidRecord("events", "must be a list of (seq, text) pairs")
    out: list[tuple[int, str]] = []
    for i, item in enumerate(events):
        seq, text = item if isinstance(item, tuple | list) and len(item) == 2 else (None, None)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise InvalidRecord(f"events[{i}].seq", "must be an integer >= 1")
        if not isinstance(text, str):
            raise InvalidRecord(f"events[{i}].data", "must be JSON text")
        if seq > max_seq:
            raise LimitExceeded(f"run log full: seq {seq} > max_events_per_run {max_seq}")
        # ASCII text is a byte a character: measured without making a copy of it in UTF-8.
        if (len(text) if text.isascii() else len(text.encode())) > max_bytes:
            raise InvalidRecord(f"events[{i}].data", f"is over the {max_bytes} byte limit")
        out.append((seq, text))
    return out
