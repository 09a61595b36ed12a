"""The checks every backend runs: ids, TTLs, states, page limits, JSON size, event batches."""

from __future__ import annotations

import pytest

from agentstream.stores import InvalidRecord, LimitExceeded
from agentstream.stores.validation import (
    check_events,
    check_id,
    check_message,
    check_page,
    check_state,
    check_ttl,
    dumps,
)


def test_ids_are_opaque_printable_ascii_up_to_256() -> None:
    """Ids of 1 and 256 printable characters pass; 257, a space, '#' or a non-string do not."""
    for good in ("a", "x" * 256, "google-oauth2|123", "L0SM9cOFvHcCIhw="):
        assert check_id("user_id", good) == good
    for bad in ("", "x" * 257, "a b", "a#b", 7, "é"):
        with pytest.raises(InvalidRecord, match="^user_id: "):
            check_id("user_id", bad)


def test_page_limit_bounds_are_inclusive() -> None:
    """A page limit of 1 and of the maximum pass; 0, max + 1, True and text do not."""
    assert check_page(1, 100) == 1 and check_page(100, 100) == 100
    for bad in (0, 101, True, "5"):
        with pytest.raises(InvalidRecord, match="^limit: "):
            check_page(bad, 100)


def test_ttl_and_state() -> None:
    """A TTL must be a positive number (not a bool); a state one of the four."""
    assert check_ttl(0.5) == 0.5
    for bad in (0, -1, True, "60"):
        with pytest.raises(InvalidRecord, match="^ttl_s: "):
            check_ttl(bad)
    assert check_state("cancelled") == "cancelled"
    with pytest.raises(InvalidRecord, match="^state: "):
        check_state("paused")


def test_dumps_bound_is_in_bytes_at_the_limit() -> None:
    """Exactly at the byte limit passes, one byte over fails; multi-byte text counts bytes."""
    at_limit = "x" * 8  # '"xxxxxxxx"' is 10 bytes
    assert dumps(at_limit, "meta", 10) == '"xxxxxxxx"'
    with pytest.raises(InvalidRecord, match="over the 10 limit"):
        dumps(at_limit + "x", "meta", 10)
    with pytest.raises(InvalidRecord, match="11 bytes"):
        dumps("é" * 4 + "x", "meta", 10)  # 5 characters, 9 bytes of text
    with pytest.raises(InvalidRecord, match="not JSON-serializable"):
        dumps({"when": object()}, "meta", 100)


def test_messages_must_be_objects() -> None:
    """A chat message is a JSON object; a list or text is refused naming message."""
    assert check_message({"n": 1}, 100) == '{"n":1}'
    with pytest.raises(InvalidRecord, match="^message: "):
        check_message(["n"], 100)


def test_event_batches() -> None:
    """Events are (seq >= 1, text) pairs; a seq over the bound is LimitExceeded, not invalid."""
    assert check_events([(1, "{}"), [2, "{}"]], 2, 10) == [(1, "{}"), (2, "{}")]
    with pytest.raises(LimitExceeded):
        check_events([(3, "{}")], 2, 10)
    for bad, field in (([(0, "{}")], "seq"), ([(1, 5)], "data"), ([(1, "x" * 11)], "data")):
        with pytest.raises(InvalidRecord, match=f"events\\[0\\].{field}"):
            check_events(bad, 2, 10)
