"""Errors a store raises, one tree under :class:`agentstream.errors.AgentstreamError`.

Each leaf names its wire ``code`` and ``http_status`` at class level, so a transport answers a
store failure by reading attributes, never by guessing::

    AgentstreamError
    └── StoreError           store_error        500  the backend failed in an unexpected way
        ├── StoreUnavailable store_unavailable  503  unreachable, timed out or throttling; retry
        ├── NotFound         not_found          404  no such record, or someone else's (same answer)
        ├── Conflict         conflict           409  the write would overwrite different data
        ├── LimitExceeded    limit_exceeded     413  a bounded collection (a run log) is full
        └── InvalidRecord    invalid_record     422  a malformed or oversized input (also a
                                                     BadRequest); ``.field`` names the culprit

Leaves also subclass the nearest built-in (``LookupError``, ``ValueError``) so callers that only
know Python's tree still catch them.
"""

from __future__ import annotations

from typing import ClassVar

from agentstream.errors import AgentstreamError, BadRequest


class StoreError(AgentstreamError):
    """Base of every error a store raises."""

    code: ClassVar[str] = "store_error"
    http_status: ClassVar[int] = 500


class StoreUnavailable(StoreError):
    """The backend cannot be reached, timed out or is throttling; the operation may be retried."""

    code: ClassVar[str] = "store_unavailable"
    http_status: ClassVar[int] = 503


class NotFound(StoreError, LookupError):
    """No such record, or it belongs to another user (the same answer, on purpose)."""

    code: ClassVar[str] = "not_found"
    http_status: ClassVar[int] = 404


class Conflict(StoreError):
    """The write would replace different data already stored under the same key."""

    code: ClassVar[str] = "conflict"
    http_status: ClassVar[int] = 409


class LimitExceeded(StoreError):
    """A bounded collection (a run log) is full."""

    code: ClassVar[str] = "limit_exceeded"
    http_status: ClassVar[int] = 413


class InvalidRecord(StoreError, BadRequest):
    """An input is malformed or too large.

    Attributes:
        field: Dotted path of the offending field, e.g. ``verification_method.source``.
        reason: What is wrong with it.
    """

    code: ClassVar[str] = "invalid_record"
    http_status: ClassVar[int] = 422

    def __init__(self, field: str, reason: str) -> None:
        """Build ``"<field>: <reason>"``."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
