"""Redis specifics beyond the contract: streams as run logs, native TTLs, the shared secret."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from agentstream.stores import StoreUnavailable, open_store
from agentstream.stores.redis import RedisStore, entry_seq
from tests.conftest import free_port


@pytest.fixture
async def pair(redis_server: str) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two stores on one Redis and prefix, as two nodes of a cluster hold them."""
    url = f"{redis_server}?prefix=t{uuid.uuid4().hex[:10]}:&lease=2"
    async with open_store(url, node="a") as a, open_store(url, node="b") as b:
        assert isinstance(a, RedisStore) and isinstance(b, RedisStore)
        yield a, b


async def test_run_log_is_a_stream_in_seq_order(pair: tuple[RedisStore, RedisStore]) -> None:
    """Each event is one stream entry with id <seq>-0, so stream order is seq order."""
    a, _ = pair
    await a.put_run("r1", "u1", "calledit")
    await a.append_events("r1", [(1, "{}"), (2, "[]")])
    entries = await a.client.xrange(a.key("run", "r1", "log"))
    assert [e[0] for e in entries] == ["1-0", "2-0"]
    assert [entry_seq(e[0]) for e in entries] == [1, 2]


async def test_a_seq_after_a_later_one_is_a_conflict(pair: tuple[RedisStore, RedisStore]) -> None:
    """A new seq below the newest stored one cannot be slotted in: Conflict, log unchanged."""
    a, _ = pair
    await a.put_run("r1", "u1", "calledit")
    await a.append_events("r1", [(1, "{}"), (3, "{}")])
    with pytest.raises(Exception, match="after a later seq"):
        await a.append_events("r1", [(2, "{}")])
    assert [s for s, _ in await a.read_events("r1")] == [1, 3]


async def test_run_and_log_get_native_ttls(pair: tuple[RedisStore, RedisStore]) -> None:
    """A run's hash and its log expire in Redis itself, not only to readers."""
    a, _ = pair
    await a.put_run("r1", "u1", "calledit", ttl_s=30)
    await a.append_events("r1", [(1, "{}")])
    for key in (a.key("run", "r1"), a.key("run", "r1", "log")):
        assert 0 < await a.client.pttl(key) <= 33_000


async def test_the_run_records_its_node(pair: tuple[RedisStore, RedisStore]) -> None:
    """The node that created a run is recorded with it, readable from any node."""
    a, b = pair
    await a.put_run("r1", "u1", "calledit")
    assert await b.run_node("r1") == "a"
    assert await b.run_node("nope") is None


async def test_one_shared_secret_for_every_node(pair: tuple[RedisStore, RedisStore]) -> None:
    """Nodes asking at once all get the same 32 random bytes, created once."""
    a, b = pair
    secrets = await asyncio.gather(*(s.shared_secret() for s in (a, b, a, b)))
    assert len(secrets[0]) == 32 and len(set(secrets)) == 1


async def test_a_closed_port_is_unavailable() -> None:
    """A Redis nobody listens on fails fast with StoreUnavailable, not a hang."""
    store = open_store(f"redis://127.0.0.1:{free_port()}/0?timeout=1")
    with pytest.raises(StoreUnavailable):
        await store.open()
