"""Checks on what a client may store as a call: the record, a verdict, a call id, a cursor.

Each check returns a normalized copy of what it accepts and raises
:class:`~agentstream.stores.errors.InvalidRecord` naming the first bad field otherwise, so both
backends refuse alike and the error frame can point at the field.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final, cast

import orjson

from agentstream.apps.calledit.records.rows import VERDICT_STATUSES, Verdict, VerdictStatus, iso_utc
from agentstream.stores.errors import InvalidRecord
from agentstream.stores.validation import dumps

MAX_STATEMENT_CHARS: Final = 2000
MAX_CALL_BYTES: Final = 32 * 1024
# Above every creation stamp (and inside SQLite's and DynamoDB's integers): "before the newest".
MAX_STAMP_US: Final = 2**62
CALL_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_METHOD_KEYS: Final = ("source", "criteria", "steps")
_RECORD_KEYS: Final = frozenset(
    {"prediction_statement", "verification_date", "verification_method", "initial_status"}
)


def check_call_id(value: object) -> str:
    """Check a client-supplied call id: letters, digits and ``._:-``, at most 128."""
    if not isinstance(value, str) or not CALL_ID_RE.fullmatch(value):
        raise InvalidRecord("call_id", "must be 1-128 letters, digits or '._:-'")
    return value


def check_date(value: object, path: str) -> str:
    """Check an ISO calendar date ``YYYY-MM-DD`` and return it."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise InvalidRecord(path, "must be a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRecord(path, f"is not a real date ({value})") from exc
    return value


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


def _check_keys(record: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Refuse unknown keys at both levels; return the verification method."""
    for key in record:
        if key not in _RECORD_KEYS:
            raise InvalidRecord(str(key), "unknown field")
    method = record.get("verification_method")
    if not isinstance(method, Mapping):
        raise InvalidRecord("verification_method", "must be an object with source, criteria, steps")
    for key in method:
        if key not in _METHOD_KEYS:
            raise InvalidRecord(f"verification_method.{key}", "unknown field")
    return method


def validate_call_record(record: object, max_bytes: int = MAX_CALL_BYTES) -> dict[str, Any]:
    """Check a CalledIt record and return a normalized copy (strings stripped).

    Shape: ``{prediction_statement, verification_date, verification_method{source[], criteria[],
    steps[]}, initial_status: "pending"}``. A missing ``initial_status`` is filled in as
    ``"pending"``; unknown keys are refused, so a typo cannot silently drop data.

    Raises:
        InvalidRecord: Naming the first bad field, e.g. ``verification_method.source``.
    """
    if not isinstance(record, Mapping):
        raise InvalidRecord("record", "must be an object")
    method = _check_keys(record)
    if record.get("initial_status", "pending") != "pending":
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


def validate_verdict(
    verdict: object, verified_at: float, max_bytes: int = MAX_CALL_BYTES
) -> Verdict:
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
    out = Verdict(cast(VerdictStatus, status), reasoning, list(evidence), stamp)
    dumps(out.to_dict(), "verdict", max_bytes)
    return out


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def encode_cursor(created_us: int, call_id: str) -> str:
    """An opaque cursor after the call ``(created_us, call_id)``; the same for every backend."""
    return base64.urlsafe_b64encode(orjson.dumps([created_us, call_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Read a cursor made by :func:`encode_cursor`; anything else is ``InvalidRecord``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_us, call_id = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidRecord("cursor", "is malformed") from exc
    if isinstance(created_us, bool) or not isinstance(created_us, int):
        raise InvalidRecord("cursor", "is malformed")
    if not 0 <= created_us < MAX_STAMP_US:
        raise InvalidRecord("cursor", "is malformed")
    if not isinstance(call_id, str) or not CALL_ID_RE.fullmatch(call_id):
        raise InvalidRecord("cursor", "is malformed")
    return created_us, call_id
