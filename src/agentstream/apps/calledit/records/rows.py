"""A logged call and its verdict, as the call store hands them back."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import orjson

CallStatus = Literal["pending", "verified_true", "verified_false", "inconclusive"]
VerdictStatus = Literal["verified_true", "verified_false", "inconclusive"]
CALL_STATUSES: Final = frozenset(get_args(CallStatus))
VERDICT_STATUSES: Final = frozenset(get_args(VerdictStatus))


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


def verdict_from_json(text: str | None) -> Verdict | None:
    """Rebuild a stored verdict (None when the call has none)."""
    return Verdict(**orjson.loads(text)) if text else None


def iso_utc(epoch_s: float) -> str:
    """An ISO 8601 UTC timestamp for ``epoch_s``."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")
