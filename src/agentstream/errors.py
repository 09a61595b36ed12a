"""The root of every error agentstream lets a user see.

Each error carries a class-level ``code`` (the ``code`` field of an error frame or HTTP body) and
``http_status`` (what an HTTP transport answers), so transports map errors by attribute, never by
``getattr(exc, "code", …)`` guesses. Leaves subclass the nearest built-in too (``ValueError``,
``LookupError``…) so callers that only know Python's tree still catch them. The tree::

    AgentstreamError                 code "internal_error", HTTP 500
    ├── BadRequest                   the client sent something we cannot act on (400)
    │   ├── BadMessage               a message that is not JSON, names no action, or is invalid
    │   ├── UnknownDialect           no wire format by that name (400)
    │   ├── UnknownModel             no model by that name (400)
    │   └── BadTimezone, BadTimestamp  (clock) (400)
    ├── StoreError                   (stores/errors.py) the store's own tree
    ├── ModelError                   (models) the model failed, throttled or ran out of tokens
    └── AppError                     an app's run ended without its result (no_record, no_verdict…)

Modules define their leaves next to the code that raises them; this module only holds the root
and the shared branches.
"""

from __future__ import annotations

from typing import ClassVar


class AgentstreamError(Exception):
    """Base of every error agentstream raises on purpose."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500


class BadRequest(AgentstreamError, ValueError):
    """The client asked for something malformed; it can fix its request and retry."""

    code: ClassVar[str] = "bad_request"
    http_status: ClassVar[int] = 400


class AppError(AgentstreamError):
    """An app's run could not produce what it promised (the run ends with this error's code)."""

    code: ClassVar[str] = "app_error"
    http_status: ClassVar[int] = 500
