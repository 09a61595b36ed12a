"""CalledIt's calls in Redis: the keys a call writes and the guard that makes one call per run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from agentstream.apps.calledit.records import calls_of
from agentstream.apps.calledit.records.redis import RedisCalls
from agentstream.stores import open_store
from agentstream.stores.redis import RedisStore

RECORD = {
    "prediction_statement": "It rains tomorrow.",
    "verification_date": "2030-01-02",
    "verification_method": {"source": ["s"], "criteria": ["c"], "steps": ["x"]},
}


@pytest.fixture
async def redis_store(redis_server: str) -> AsyncIterator[RedisStore]:
    """A Redis store on a fresh prefix."""
    async with open_store(f"{redis_server}?prefix=c{uuid.uuid4().hex[:8]}:") as store:
        assert isinstance(store, RedisStore)
        yield store


async def test_calls_of_a_redis_store_are_kept_in_redis(redis_store: RedisStore) -> None:
    """calls_of picks the Redis records for a Redis store, once per store."""
    calls = calls_of(redis_store)
    assert isinstance(calls, RedisCalls) and calls_of(redis_store) is calls


async def test_a_verdict_takes_the_call_off_the_due_list(redis_store: RedisStore) -> None:
    """A pending call is due until its verdict; the due index loses it with the verdict."""
    calls = calls_of(redis_store)
    row = await calls.save_call("u1", RECORD, run_id="r1")
    assert [c.call_id for c in await calls.due_calls(date(2030, 1, 2))] == [row.call_id]
    assert await calls.due_calls(date(2030, 1, 1)) == []
    verdict = {"status": "verified_true", "reasoning": "it did", "evidence": []}
    await calls.set_verdict("u1", row.call_id, verdict)
    assert await calls.due_calls(date(2030, 1, 2)) == []
    due = redis_store.key("calls", "due")
    assert await redis_store.client.zcard(due) == 0


async def test_the_run_guard_names_the_call(redis_store: RedisStore) -> None:
    """The run guard key holds the call id, so a second save from the run finds the first."""
    calls = calls_of(redis_store)
    row = await calls.save_call("u1", RECORD, run_id="r1")
    guard = redis_store.key("calls", "run", "u1", "r1")
    assert await redis_store.client.get(guard) == row.call_id
    assert (await calls.save_call("u1", RECORD, run_id="r1")).call_id == row.call_id
