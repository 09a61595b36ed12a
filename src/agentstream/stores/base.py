"""The ``Store`` protocol, its records, its errors and the checks every backend shares.

A store keeps what must outlive one process: live connections (with a TTL), run logs (so another
node can replay a run), app records (CalledIt calls and their verdicts) and chat messages.
Backends (``sqlite.py``, ``dynamodb.py``) implement :class:`Store`; one contract suite in
``tests/stores/test_contract.py`` runs against each.

Errors form one tree::

    StoreError
    ├── StoreUnavailable   the backend cannot be reached or is throttling; retry later
    ├── NotFound           no such record (or it belongs to someone else: same answer)
    ├── Conflict           the write would overwrite different data (seq, call id, run id)
    ├── LimitExceeded      a run log or message is over its configured bound
    └── InvalidRecord      a malformed or oversized input; ``.field`` names the culprit

Users are opaque strings: today a client-generated id, later the subject of a real identity. The
store never interprets them, so an authenticated id drops in without a schema change.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Final, Literal, Protocol, Self, cast, get_args

import orjson

# One RunState for the whole project: the run's own enum (its values are the stored strings).
from agentstream.runs.state import RunState as RunState

CallStatus = Literal["pending", "verified_true", "verified_false", "inconclusive"]
VerdictStatus = Literal["verified_true", "verified_false", "inconclusive"]

CALL_STATUSES: Final = frozenset(get_args(CallStatus))
VERDICT_STATUSES: Final = frozenset(get_args(VerdictStatus))
RUN_STATES: Final = frozenset(state.value for state in RunState)
MAX_STATEMENT_CHARS: Final = 2000

# Ids are opaque: printable ASCII without spaces or "#" (a key separator in DynamoDB), so an
# API Gateway connection id ("L0SM9cOFvHcCIhw="), a Cognito sub or "google-oauth2|123" all fit.
_ID_RE: Final = re.compile(r"[\x21\x22\x24-\x7e]{1,256}")
CALL_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_METHOD_KEYS: Final = ("source", "criteria", "steps")
_RECORD_KEYS: Final = frozenset(
    {"prediction_statement", "verification_date", "verification_method", "initial_status"}
)


class StoreError(Exception):
    """Base of every error a store raises."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached, timed out or is throttling; the operation may be retried."""


class NotFound(StoreError):
    """No such record, or it belongs to another user (the same answer, on purpose)."""


class Conflict(StoreError):
    """The write would replace different data already stored under the same key."""


class LimitExceeded(StoreError):
    """A bounded collection (a run log) is full."""


class InvalidRecord(StoreError, ValueError):
    """An input is malformed or too large.

    Attributes:
        field: Dotted path of the offending field, e.g. ``verification_method.source``.
        reason: What is wrong with it.
    """

    def __init__(self, field: str, reason: str) -> None:
        """Build ``"<field>: <reason>"``."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a store enforces; every backend reads the same numbers.

    Attributes:
        max_call_bytes: Largest serialized call record.
        max_events_per_run: Highest seq a run log accepts (seqs start at 1, without gaps).
        max_event_bytes: Largest single event's JSON text.
        max_meta_bytes: Largest serialized ``meta`` dict (connections, runs).
        max_message_bytes: Largest serialized chat message.
        max_page: Largest ``limit`` a listing accepts.
    """

    max_call_bytes: int = 32 * 1024
    max_events_per_run: int = 10_000
    max_event_bytes: int = 128 * 1024
    max_meta_bytes: int = 8 * 1024
    max_message_bytes: int = 64 * 1024
    max_page: int = 100


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """A live client connection. Times are Unix epoch seconds."""

    conn_id: str
    user_id: str
    connected_at: float
    expires_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run's header; its events live in the run log. Times are Unix epoch seconds."""

    run_id: str
    owner: str
    app: str
    state: RunState
    created_at: float
    updated_at: float
    expires_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of verifying a call."""

    status: VerdictStatus
    reasoning: str
    evidence: list[Any]
    verified_at: str

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class CallRow:
    """A logged call. ``created_at``/``updated_at`` are Unix epoch seconds."""

    call_id: str
    user_id: str
    run_id: str | None
    record: dict[str, Any]
    status: CallStatus
    created_at: float
    updated_at: float
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        """The call as a JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["verdict"] = self.verdict.to_dict() if self.verdict else None
        return out


class Store(Protocol):
    """What every backend offers; all methods are coroutines and raise :class:`StoreError`."""

    limits: Limits

    async def open(self) -> None:
        """Connect, and create or migrate the schema where the backend owns it."""

    async def close(self) -> None:
        """Release connections; idempotent."""

    async def __aenter__(self) -> Self:
        """Open the store."""

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""

    # Connections
    async def put_connection(
        self,
        conn_id: str,
        user_id: str,
        connected_at: float,
        ttl_s: float,
        meta: Mapping[str, Any] | None = None,
    ) -> ConnectionRow:
        """Record (or refresh) a connection that expires ``ttl_s`` seconds from now."""

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many rows went."""

    # Runs and their logs
    async def put_run(
        self,
        run_id: str,
        owner: str,
        app: str,
        state: RunState = RunState.RUNNING,
        ttl_s: float = 3600,
        meta: Mapping[str, Any] | None = None,
    ) -> RunRow:
        """Create a run header; its log expires with it. Conflict if the id exists."""

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events; rewriting a seq with the same text is a no-op.

        Raises:
            NotFound: The run is unknown or expired.
            Conflict: A seq is already stored with different text (events before it may stay).
            LimitExceeded: A seq is above ``limits.max_events_per_run``.
        """

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""

    # Calls
    async def save_call(
        self,
        user_id: str,
        record: Mapping[str, Any],
        *,
        run_id: str | None,
        call_id: str | None = None,
    ) -> CallRow:
        """Validate and store a call; the same ``(user_id, run_id)`` again returns the first."""

    async def get_call(self, user_id: str, call_id: str) -> CallRow:
        """One of the user's calls. NotFound when unknown or someone else's."""

    async def list_calls(
        self, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[CallRow], str | None]:
        """The user's calls newest first, and a cursor for the next page (None at the end)."""

    async def set_verdict(self, user_id: str, call_id: str, verdict: Mapping[str, Any]) -> CallRow:
        """Save ``{status, reasoning, evidence[]}`` with the call and move its status."""

    async def due_calls(self, before: date, limit: int = 100) -> list[CallRow]:
        """Pending calls of any user whose verification_date <= ``before``, oldest date first."""

    # Chat messages
    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message to a thread; returns its position (1, 2, 3...)."""

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""


class BaseStore:
    """Shared plumbing: clock, limits, monotonic creation stamps, async context manager."""

    def __init__(
        self, *, limits: Limits | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        """Set the limits and the clock (injectable so tests can move time)."""
        self.limits = limits or Limits()
        self._clock = clock or time.time
        self._last_us = 0

    async def open(self) -> None:  # pragma: no cover - overridden
        """Open the backend."""
        raise NotImplementedError

    async def close(self) -> None:  # pragma: no cover - overridden
        """Close the backend."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        """Open the store."""
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""
        await self.close()

    def now(self) -> float:
        """The store's clock, in Unix epoch seconds."""
        return self._clock()

    def expiry(self, ttl_s: object) -> float:
        """When something stored now with ``ttl_s`` expires: whole epoch seconds, rounded up.

        Whole seconds because DynamoDB's TTL attribute is integer epoch seconds; every backend
        rounds the same way so the contract suite sees the same expiry everywhere.
        """
        return float(math.ceil(self.now() + check_ttl(ttl_s)))

    def stamp_us(self) -> int:
        """A creation time in microseconds, strictly increasing within this store.

        Why: two calls saved in the same microsecond (or under a frozen test clock) must still
        list in the order they were saved.
        """
        self._last_us = max(self._last_us + 1, int(self._clock() * 1_000_000))
        return self._last_us

    def page_limit(self, limit: int) -> int:
        """Check a listing's ``limit``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRecord("limit", "must be a positive integer")
        if limit > self.limits.max_page:
            raise InvalidRecord("limit", f"must be at most {self.limits.max_page}")
        return limit


# --- validation ------------------------------------------------------------------------------


def check_id(name: str, value: object) -> str:
    """Check an identifier (user, run, connection, thread) and return it."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidRecord(name, "must be 1-256 printable ASCII characters, no space or '#'")
    return value


def check_call_id(value: object) -> str:
    """Check a client-supplied call id: letters, digits and ``._:-``, at most 128."""
    if not isinstance(value, str) or not CALL_ID_RE.fullmatch(value):
        raise InvalidRecord("call_id", "must be 1-128 letters, digits or '._:-'")
    return value


def check_ttl(value: object) -> float:
    """Check a TTL in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidRecord("ttl_s", "must be a positive number of seconds")
    return float(value)


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
        if len(text.encode()) > max_bytes:
            raise InvalidRecord(f"events[{i}].data", f"is over the {max_bytes} byte limit")
        out.append((seq, text))
    return out


def _text(value: object, path: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidRecord(path, "must be a string")
    text = value.strip()
    if not text:
        raise InvalidRecord(path, "must not be empty")
    if len(text) > max_chars:
        raise InvalidRecord(path, f"must be at most {max_chars} characters")
    return text


def _text_list(value: object, path: str) -> list[str]:
    if not isinstance(value, list):
        raise InvalidRecord(path, "must be a list of strings")
    if not value:
        raise InvalidRecord(path, "must not be empty")
    return [_text(item, f"{path}[{i}]", MAX_STATEMENT_CHARS) for i, item in enumerate(value)]


def check_date(value: object, path: str) -> str:
    """Check an ISO calendar date ``YYYY-MM-DD`` and return it."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise InvalidRecord(path, "must be a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRecord(path, f"is not a real date ({value})") from exc
    return value


def validate_call_record(record: object, max_bytes: int = 32 * 1024) -> dict[str, Any]:
    """Check a CalledIt record and return a normalized copy (strings stripped).

    Shape: ``{prediction_statement, verification_date, verification_method{source[], criteria[],
    steps[]}, initial_status: "pending"}``. A missing ``initial_status`` is filled in as
    ``"pending"``; unknown keys are refused, so a typo cannot silently drop data.

    Raises:
        InvalidRecord: Naming the first bad field, e.g. ``verification_method.source``.
    """
    if not isinstance(record, Mapping):
        raise InvalidRecord("record", "must be an object")
    for key in record:
        if key not in _RECORD_KEYS:
            raise InvalidRecord(str(key), "unknown field")
    method = record.get("verification_method")
    if not isinstance(method, Mapping):
        raise InvalidRecord("verification_method", "must be an object with source, criteria, steps")
    for key in method:
        if key not in _METHOD_KEYS:
            raise InvalidRecord(f"verification_method.{key}", "unknown field")
    status = record.get("initial_status", "pending")
    if status != "pending":
        raise InvalidRecord("initial_status", 'must be "pending"')
    clean = {
        "prediction_statement": _text(
            record.get("prediction_statement"), "prediction_statement", MAX_STATEMENT_CHARS
        ),
        "verification_date": check_date(record.get("verification_date"), "verification_date"),
        "verification_method": {
            key: _text_list(method.get(key), f"verification_method.{key}") for key in _METHOD_KEYS
        },
        "initial_status": "pending",
    }
    dumps(clean, "record", max_bytes)
    return clean


def validate_verdict(verdict: object, verified_at: float, max_bytes: int = 32 * 1024) -> Verdict:
    """Check ``{status, reasoning, evidence[]}``; ``verified_at`` defaults to the given time."""
    if not isinstance(verdict, Mapping):
        raise InvalidRecord("verdict", "must be an object")
    status = verdict.get("status")
    if status not in VERDICT_STATUSES:
        raise InvalidRecord("verdict.status", f"must be one of {sorted(VERDICT_STATUSES)}")
    reasoning = verdict.get("reasoning", "")
    if not isinstance(reasoning, str):
        raise InvalidRecord("verdict.reasoning", "must be a string")
    evidence = verdict.get("evidence", [])
    if not isinstance(evidence, list):
        raise InvalidRecord("verdict.evidence", "must be a list")
    stamp = verdict.get("verified_at") or iso_utc(verified_at)
    if not isinstance(stamp, str) or not _is_iso(stamp):
        raise InvalidRecord("verdict.verified_at", "must be an ISO 8601 timestamp")
    out = Verdict(
        status=cast(VerdictStatus, status),
        reasoning=reasoning,
        evidence=list(evidence),
        verified_at=stamp,
    )
    dumps(out.to_dict(), "verdict", max_bytes)
    return out


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def iso_utc(epoch_s: float) -> str:
    """An ISO 8601 UTC timestamp for ``epoch_s``."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def verdict_from_json(text: str | None) -> Verdict | None:
    """Rebuild a stored verdict."""
    return Verdict(**orjson.loads(text)) if text else None


# --- cursors ---------------------------------------------------------------------------------


def encode_cursor(created_us: int, call_id: str) -> str:
    """An opaque cursor after the call ``(created_us, call_id)``; the same for every backend."""
    return base64.urlsafe_b64encode(orjson.dumps([created_us, call_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Read a cursor made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_us, call_id = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidRecord("cursor", "is malformed") from exc
    if not isinstance(created_us, int) or not isinstance(call_id, str):
        raise InvalidRecord("cursor", "is malformed")
    return created_us, call_id
