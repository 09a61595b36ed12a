"""The current time, overridable so runs are reproducible.

``AGENTSTREAM_NOW`` (or ``--now`` on the CLI, or :func:`override` in code) pins "now" to an ISO
timestamp. A naive timestamp is read in the timezone it is asked for, so
``--now 2025-01-15T10:00:00 --timezone America/New_York`` means 10:00 in New York.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentstream.errors import BadRequest

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentstream_now", default=None
)


class BadTimezone(BadRequest):
    """A name that is not an IANA timezone (a ``ValueError``, so pydantic validators report it)."""

    code: ClassVar[str] = "bad_timezone"
    http_status: ClassVar[int] = 400


class BadTimestamp(BadRequest):
    """A clock override that is not an ISO 8601 timestamp."""

    code: ClassVar[str] = "bad_timestamp"
    http_status: ClassVar[int] = 400


# The longest IANA name is 32 characters; longer names are refused before touching the disk.
MAX_ZONE_CHARS = 64


def zone(name: str | None) -> ZoneInfo:
    """The IANA timezone called ``name`` (UTC when empty)."""
    try:
        if name is not None and len(name) > MAX_ZONE_CHARS:
            raise ValueError("too long")
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a directory ("America") or a name the file system refuses.
        raise BadTimezone(
            f"unknown timezone {name!r} (expected an IANA name like 'Europe/Paris')"
        ) from exc


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 date or timestamp, with a clear error."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadTimestamp(f"not an ISO 8601 timestamp: {text!r}") from exc


def pinned() -> str | None:
    """The override in force, if any."""
    return _override.get() or os.environ.get("AGENTSTREAM_NOW") or None


def now(timezone: str | None = None) -> datetime:
    """An aware datetime for now in ``timezone``, honouring the override."""
    tz = zone(timezone)
    fixed = pinned()
    if fixed is None:
        return datetime.now(UTC).astimezone(tz)
    moment = parse_timestamp(fixed)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


@contextlib.contextmanager
def override(timestamp: str | None) -> Iterator[None]:
    """Pin "now" to ``timestamp`` inside the block (``None`` leaves it as it is)."""
    if timestamp is not None:
        parse_timestamp(timestamp)
    token = _override.set(timestamp) if timestamp is not None else None
    try:
        yield
    finally:
        if token is not None:
            _override.reset(token)
