"""The Redis plumbing: key names, native TTLs, URLs in logs."""

from __future__ import annotations

import pytest

from agentstream.stores import StoreError
from agentstream.stores.redis_base import RedisBase, _safe, native_ttl_ms


def test_keys_sit_under_the_prefix() -> None:
    """Every key starts with the prefix, so deployments on one Redis never meet."""
    assert RedisBase(prefix="p:").key("run", "r1", "log") == "p:run:r1:log"


@pytest.mark.parametrize(
    ("expires", "now", "ms"), [(100.0, 90.0, 11_000), (100.0, 100.0, 1000), (100.0, 200.0, 1000)]
)
def test_native_ttl_outlives_the_recorded_expiry(expires: float, now: float, ms: int) -> None:
    """Redis keeps a record a second past its expiry (readers filter first), never under 1 s."""
    assert native_ttl_ms(expires, now) == ms


def test_a_password_never_reaches_a_log() -> None:
    """The URL shown in logs and errors hides the credentials."""
    assert _safe("rediss://user:s3cret@h:6380/1") == "rediss://***@h:6380/1"
    assert _safe("redis://h:6379/0") == "redis://h:6379/0"


def test_an_unopened_store_refuses() -> None:
    """Using the client before open() is a StoreError, not an AttributeError."""
    with pytest.raises(StoreError, match="not open"):
        _ = RedisBase().client
