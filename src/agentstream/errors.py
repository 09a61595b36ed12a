"""The root of every error agentstream lets a user see.

Each error carries a class-level ``code`` (the ``code`` field of an error frame or HTTP body) and
``http_status`` (what an HTTP transport answers), so transports map errors by attribute, never by
``getattr(exc, "code", …)`` guesses. Leaves subclass the nearest built-in too (``ValueError``,
``LookupError``…) so callers that only know Python's tree still catch them. The tree (leaf: code,
HTTP status; the module that defines it in brackets)::

    AgentstreamError                        internal_error     500
    ├── BadRequest                          bad_request        400  the client can fix it
    │   ├── BadMessage        [gateway]     per problem        400  not JSON, no action, invalid
    │   ├── UnknownDialect    [protocol]    unknown_dialect    400  no wire format by that name
    │   ├── DecodeError       [protocol]    invalid_json       400  a frame that is not JSON
    │   ├── UnknownModel      [models]      unknown_model      400  no model by that name
    │   ├── UnknownApp        [apps]        unknown_app        404  no shipped app by that name
    │   ├── BadIdentity       [gateway]     bad_identity       400  a user id with control chars
    │   ├── BadTimezone       [clock]       bad_timezone       400  not an IANA timezone
    │   └── BadTimestamp      [clock]       bad_timestamp      400  not an ISO 8601 timestamp
    ├── StoreError            [stores]      store_error        500  see stores/errors.py
    │   ├── StoreUnavailable                store_unavailable  503  retry later
    │   ├── NotFound                        not_found          404  (also a LookupError)
    │   ├── Conflict                        conflict           409
    │   ├── LimitExceeded                   limit_exceeded     413
    │   └── InvalidRecord                   invalid_record     422  (also a BadRequest)
    ├── ModelError            [models]      model_error        500  the model failed
    │   ├── ScriptedModelError  [models]    model_error        500  a scripted error step
    │   └── TokenLimit        [agents]      max_tokens         500  the answer hit the token limit
    ├── WeightsError          [models]      weights_error      500  weights missing or unreadable
    ├── Unauthenticated       [gateway]     unauthenticated    401  no, bad or expired credentials
    ├── Forbidden             [gateway]     forbidden          403  a token for another audience
    ├── LogGap                [runs]        log_gap            410  replay asked for dropped events
    ├── TooManyRuns           [runs]        too_many_runs      429  a user's live-run cap
    ├── TooManyCycles         [agents]      too_many_cycles    500  an agent loop over its cap
    └── AppError                            app_error          500  a run ended without its result
        ├── NoRecord          [calledit]    no_record          500  makecall gave no record
        ├── NoVerdict         [calledit]    no_verdict         500  verify gave no verdict
        ├── InvalidStrategy   [strategy]    invalid_strategy   500  the model's strategy JSON
        └── EmbeddingUnavailable [realestate] embedding_unavailable 503

A run's producer that fails with anything outside this tree ends the run with
``internal_error`` (``runs/run.py``): a new error a user should see gets a leaf here first.
CalledIt's ``CallError`` (``apps/calledit/calls.py``) is a BadMessage whose code is chosen per
refusal (``not_found``, ``run_not_finished``…), as the call lifecycle's error table in
``docs/calls.md`` lists.

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
