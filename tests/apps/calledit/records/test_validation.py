"""Call record, verdict, call id and cursor checks, without a store."""

from __future__ import annotations

import base64

import pytest

from agentstream.apps.calledit.records.validation import (
    MAX_STAMP_US,
    check_call_id,
    decode_cursor,
    encode_cursor,
    validate_verdict,
)
from agentstream.stores import InvalidRecord


def test_a_cursor_round_trips_opaquely() -> None:
    """encode_cursor then decode_cursor gives back the position; the text carries no padding."""
    cursor = encode_cursor(1_736_935_200_000_001, "c-1.x:y")
    assert "=" not in cursor and decode_cursor(cursor) == (1_736_935_200_000_001, "c-1.x:y")


@pytest.mark.parametrize(
    "raw",
    [b"[]", b"[1]", b'["1", "a"]', b'[true, "a"]', b'[1, ""]', b'[1, "run#r1"]', b'{"a": 1}'],
)
def test_a_cursor_of_the_wrong_shape_is_malformed(raw: bytes) -> None:
    """Valid base64 JSON that is not [stamp, call id] is refused as a malformed cursor."""
    with pytest.raises(InvalidRecord, match="^cursor: is malformed$"):
        decode_cursor(base64.urlsafe_b64encode(raw).decode())


def test_cursor_stamp_bounds() -> None:
    """Stamps 0 and MAX_STAMP_US - 1 decode; -1 and MAX_STAMP_US do not."""
    assert decode_cursor(encode_cursor(0, "a"))[0] == 0
    assert decode_cursor(encode_cursor(MAX_STAMP_US - 1, "a"))[0] == MAX_STAMP_US - 1
    for stamp in (-1, MAX_STAMP_US):
        with pytest.raises(InvalidRecord, match="^cursor: "):
            decode_cursor(encode_cursor(stamp, "a"))


def test_call_ids_up_to_128_safe_characters() -> None:
    """A call id of 128 safe characters passes; 129, a '#' or a space do not."""
    assert check_call_id("a" * 128) == "a" * 128
    for bad in ("a" * 129, "run#r1", "a b", ""):
        with pytest.raises(InvalidRecord, match="^call_id: "):
            check_call_id(bad)


def test_a_verdict_gets_a_timestamp_and_is_bounded() -> None:
    """A verdict without verified_at is stamped with the given time; a huge one is refused."""
    verdict = validate_verdict({"status": "inconclusive"}, 0.0)
    assert (verdict.verified_at, verdict.reasoning, verdict.evidence) == (
        "1970-01-01T00:00:00+00:00",
        "",
        [],
    )
    with pytest.raises(InvalidRecord, match="^verdict.verified_at: "):
        validate_verdict({"status": "inconclusive", "verified_at": "later"}, 0.0)
    with pytest.raises(InvalidRecord, match="^verdict: .*over the 100"):
        validate_verdict({"status": "inconclusive", "reasoning": "x" * 100}, 0.0, max_bytes=100)
