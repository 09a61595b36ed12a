"""The plumbing every backend shares: expiry rounding, creation stamps, page limits."""

from __future__ import annotations

import pytest

from agentstream.stores import InvalidRecord, Limits
from agentstream.stores.base import BaseStore


def test_expiry_is_whole_seconds_rounded_up() -> None:
    """Something stored at t=100.2 for 10 s expires at 111 (DynamoDB TTLs are whole seconds)."""
    store = BaseStore(clock=lambda: 100.2)
    assert store.expiry(10) == 111.0
    assert BaseStore(clock=lambda: 100.0).expiry(10) == 110.0
    with pytest.raises(InvalidRecord, match="ttl_s"):
        store.expiry(0)


def test_stamps_strictly_increase_under_a_frozen_clock() -> None:
    """Two records stamped in the same microsecond still get increasing stamps."""
    store = BaseStore(clock=lambda: 1.0)
    stamps = [store.stamp_us() for _ in range(3)]
    assert stamps == [1_000_000, 1_000_001, 1_000_002]


def test_page_limit_reads_the_configured_maximum() -> None:
    """The page limit is checked against Limits.max_page."""
    store = BaseStore(limits=Limits(max_page=3))
    assert store.page_limit(3) == 3
    with pytest.raises(InvalidRecord, match="at most 3"):
        store.page_limit(4)


def test_a_new_run_row_is_checked_and_stamped_now() -> None:
    """put_run's header: created and updated now, expiring with its TTL; bad ids refused."""
    from agentstream.runs.state import RunState

    store = BaseStore(clock=lambda: 100.2)
    row = store.new_run_row("r1", "ann", "calledit", RunState.RUNNING, 10, {"k": 1})
    assert (row.created_at, row.updated_at, row.expires_at) == (100.2, 100.2, 111.0)
    assert (row.run_id, row.owner, row.app, row.meta) == ("r1", "ann", "calledit", {"k": 1})
    with pytest.raises(InvalidRecord, match="owner"):
        store.new_run_row("r1", "", "calledit", RunState.RUNNING, 10, None)
