"""The store's error tree: one root, class-level codes and statuses, Python's built-ins kept."""

from __future__ import annotations

import pytest

from agentstream.errors import AgentstreamError, BadRequest
from agentstream.stores import (
    Conflict,
    InvalidRecord,
    LimitExceeded,
    NotFound,
    StoreError,
    StoreUnavailable,
)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (StoreError, "store_error", 500),
        (StoreUnavailable, "store_unavailable", 503),
        (NotFound, "not_found", 404),
        (Conflict, "conflict", 409),
        (LimitExceeded, "limit_exceeded", 413),
        (InvalidRecord, "invalid_record", 422),
    ],
)
def test_each_leaf_has_its_code_and_status(error: type[StoreError], code: str, status: int) -> None:
    """Every store error is an AgentstreamError with its own class-level code and HTTP status."""
    assert issubclass(error, StoreError) and issubclass(error, AgentstreamError)
    assert (error.code, error.http_status) == (code, status)


def test_invalid_record_names_its_field_and_is_a_bad_request() -> None:
    """InvalidRecord reads "field: reason", keeps both, and is a BadRequest and a ValueError."""
    exc = InvalidRecord("verification_method.source", "must not be empty")
    assert str(exc) == "verification_method.source: must not be empty"
    assert (exc.field, exc.reason) == ("verification_method.source", "must not be empty")
    assert isinstance(exc, BadRequest) and isinstance(exc, ValueError)
    assert isinstance(NotFound("x"), LookupError)
