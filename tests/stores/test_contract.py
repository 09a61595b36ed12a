"""The Store contract: every behaviour here holds for every backend (see conftest ``store``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentstream.stores import (
    Conflict,
    InvalidRecord,
    LimitExceeded,
    NotFound,
    Store,
    StoreError,
)
from agentstream.stores.rows import ConnectionWrite, RunWrite

# --- connections ------------------------------------------------------------------------------


async def test_connection_roundtrip(store: Store) -> None:
    """A recorded connection reads back with its user, time and meta."""
    put = await store.put_connection("c1", "u1", 1700000000.5, 60, {"ip": "127.0.0.1"})
    got = await store.get_connection("c1")
    assert got == put
    assert (got.user_id, got.connected_at, got.meta) == ("u1", 1700000000.5, {"ip": "127.0.0.1"})


async def test_connection_refresh_replaces(store: Store, clock: Any) -> None:
    """Recording the same connection again refreshes its expiry instead of failing."""
    await store.put_connection("c1", "u1", clock(), 10)
    clock.advance(8)
    await store.put_connection("c1", "u1", clock(), 10)
    clock.advance(8)
    assert await store.get_connection("c1") is not None


async def test_connection_delete(store: Store) -> None:
    """$disconnect removes the connection; removing an unknown one is not an error."""
    await store.put_connection("c1", "u1", 0, 60)
    await store.delete_connection("c1")
    await store.delete_connection("never-was")
    assert await store.get_connection("c1") is None


async def test_expired_connection_filtered_in_code(store: Store, clock: Any) -> None:
    """An expired connection is invisible before any purge (DynamoDB deletes lazily)."""
    await store.put_connection("old", "u1", clock(), 5)
    await store.put_connection("new", "u1", clock(), 500)
    clock.advance(10)
    assert await store.get_connection("old") is None
    assert [c.conn_id for c in await store.list_connections("u1")] == ["new"]
    assert [c.conn_id for c in await store.list_connections()] == ["new"]


async def test_list_connections_by_user(store: Store) -> None:
    """Listing by user returns only that user's live connections."""
    await store.put_connection("a1", "alice", 1, 60)
    await store.put_connection("a2", "alice", 2, 60)
    await store.put_connection("b1", "bob", 3, 60)
    assert [c.conn_id for c in await store.list_connections("alice")] == ["a1", "a2"]
    assert len(await store.list_connections()) == 3


async def test_purge_expired(store: Store, clock: Any) -> None:
    """Purging deletes expired connections and runs and keeps live ones."""
    await store.put_connection("old", "u1", clock(), 5)
    await store.put_connection("live", "u1", clock(), 500)
    await store.put_run("r-old", "u1", "calledit", ttl_s=5)
    clock.advance(10)
    assert await store.purge_expired() >= 2
    assert [c.conn_id for c in await store.list_connections()] == ["live"]
    await store.put_run("r-old", "u1", "calledit")  # the id is free again once purged


@pytest.mark.parametrize("user_id", ["", "has space", "has#hash", "x" * 257])
async def test_bad_user_id_refused(store: Store, user_id: str) -> None:
    """A malformed user id is refused, naming user_id (identities are opaque but bounded)."""
    with pytest.raises(InvalidRecord, match="^user_id: "):
        await store.put_connection("c1", user_id, 0, 60)


async def test_connection_bad_ttl_refused(store: Store) -> None:
    """A connection with a non-positive TTL is refused, naming ttl_s."""
    with pytest.raises(InvalidRecord, match="ttl_s"):
        await store.put_connection("c1", "u1", 0, 0)


async def test_record_connections_puts_then_deletes_in_one_call(store: Store) -> None:
    """One call records many connections (refreshing one) and then forgets others."""
    await store.put_connection("old", "u1", 1, 60)
    await store.put_connection("again", "u1", 1, 60)
    puts = [ConnectionWrite(f"c{i}", "u1", 10 + i, 60, {"dialect": "agui"}) for i in range(5)]
    puts.append(ConnectionWrite("again", "u2", 99, 60))
    await store.record_connections(puts, ["old", "c4", "never-was"])
    listed = await store.list_connections()
    assert [c.conn_id for c in listed] == ["c0", "c1", "c2", "c3", "again"]
    assert listed[0].meta == {"dialect": "agui"}
    assert (listed[-1].user_id, listed[-1].connected_at) == ("u2", 99)
    await store.record_connections([], [])


# --- runs and run logs --------------------------------------------------------------------------


async def test_run_roundtrip_and_duplicate(store: Store) -> None:
    """A run reads back as written; creating the same run id again is a Conflict."""
    run = await store.put_run("r1", "u1", "calledit", meta={"model": "scripted"})
    assert await store.get_run("r1") == run
    assert run.state == "running"
    with pytest.raises(Conflict):
        await store.put_run("r1", "u2", "calledit")


async def test_set_run_state(store: Store) -> None:
    """A run's state moves; an unknown run is NotFound and an unknown state is refused."""
    await store.put_run("r1", "u1", "calledit")
    assert (await store.set_run_state("r1", "finished")).state == "finished"
    assert (await store.get_run("r1")).state == "finished"  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await store.set_run_state("nope", "finished")
    with pytest.raises(InvalidRecord, match="state"):
        await store.set_run_state("r1", "exploded")  # type: ignore[arg-type]


async def test_events_in_order_after_seq(store: Store) -> None:
    """Events read back in seq order, from after a given seq, up to a limit."""
    await store.put_run("r1", "u1", "calledit")
    await store.append_events("r1", [(1, '{"a":1}'), (2, '{"a":2}')])
    await store.append_events("r1", [(3, '{"a":3}')])
    assert await store.read_events("r1") == [(1, '{"a":1}'), (2, '{"a":2}'), (3, '{"a":3}')]
    assert await store.read_events("r1", after_seq=1) == [(2, '{"a":2}'), (3, '{"a":3}')]
    assert await store.read_events("r1", after_seq=1, limit=1) == [(2, '{"a":2}')]
    assert await store.read_events("unknown") == []


async def test_events_idempotent_per_seq(store: Store) -> None:
    """Re-appending a seq with the same text is a no-op; with different text, a Conflict."""
    await store.put_run("r1", "u1", "calledit")
    await store.append_events("r1", [(1, '{"a":1}')])
    await store.append_events("r1", [(1, '{"a":1}'), (2, '{"a":2}')])
    with pytest.raises(Conflict):
        await store.append_events("r1", [(2, '{"forged":true}')])
    assert await store.read_events("r1") == [(1, '{"a":1}'), (2, '{"a":2}')]


async def test_two_writers_cannot_overwrite_a_seq(store: Store) -> None:
    """Of two writers racing on one seq, one wins and the other gets Conflict."""
    await store.put_run("r1", "u1", "calledit")
    texts = [f'{{"writer":{i}}}' for i in range(6)]
    results = await asyncio.gather(
        *(store.append_events("r1", [(1, t)]) for t in texts), return_exceptions=True
    )
    winners = [t for t, r in zip(texts, results, strict=True) if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)
    assert await store.read_events("r1") == [(1, winners[0])]


async def test_append_to_unknown_run(store: Store) -> None:
    """Appending to a run that was never created is NotFound."""
    with pytest.raises(NotFound):
        await store.append_events("ghost", [(1, "{}")])


async def test_run_log_bounded(store: Store) -> None:
    """A seq past the per-run maximum or an oversized event is refused."""
    await store.put_run("r1", "u1", "calledit")
    top = store.limits.max_events_per_run
    await store.append_events("r1", [(top, "{}")])
    with pytest.raises(LimitExceeded):
        await store.append_events("r1", [(top + 1, "{}")])
    with pytest.raises(InvalidRecord, match=r"events\[0\]\.data"):
        await store.append_events("r1", [(2, "x" * (store.limits.max_event_bytes + 1))])
    with pytest.raises(InvalidRecord, match=r"events\[0\]\.seq"):
        await store.append_events("r1", [(0, "{}")])


async def test_record_runs_creates_appends_and_ends_in_one_call(store: Store) -> None:
    """One record_runs call writes several runs' headers, rows and end states, in order."""
    outcomes = await store.record_runs(
        [
            RunWrite("r1", "u1", "bench", 60, create=True, events=[(1, "{}"), (2, '{"a":2}')]),
            RunWrite("r2", "u2", "bench", 60, create=True, events=[(1, "{}")], state="finished"),
        ]
    )
    assert outcomes == [None, None]
    r1, r2 = await store.get_run("r1"), await store.get_run("r2")
    assert r1 is not None and (r1.owner, r1.app, r1.state) == ("u1", "bench", "running")
    assert r2 is not None and (r2.owner, r2.state) == ("u2", "finished")
    assert await store.read_events("r1") == [(1, "{}"), (2, '{"a":2}')]
    assert await store.record_runs(
        [RunWrite("r1", "u1", "bench", 60, events=[(3, "{}")], state="cancelled")]
    ) == [None]
    assert await store.read_events("r1", after_seq=2) == [(3, "{}")]
    assert (await store.get_run("r1")).state == "cancelled"  # type: ignore[union-attr]


async def test_record_runs_fails_one_write_alone(store: Store) -> None:
    """A write that fails (unknown run, forged seq, bad state) fails alone, its end state unset."""
    await store.put_run("r1", "u1", "bench")
    await store.append_events("r1", [(1, "{}")])
    outcomes = await store.record_runs(
        [
            RunWrite("ghost", "u1", "bench", 60, events=[(1, "{}")]),
            RunWrite("r1", "u1", "bench", 60, events=[(1, '{"forged":1}')], state="finished"),
            RunWrite("r2", "u1", "bench", 60, create=True, events=[(1, "{}")]),
            RunWrite("r3", "u1", "bench", 60, create=True, state="exploded"),  # type: ignore[arg-type]
        ]
    )
    assert isinstance(outcomes[0], NotFound)
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[2] is None
    assert isinstance(outcomes[3], InvalidRecord)
    assert await store.read_events("r1") == [(1, "{}")]
    assert (await store.get_run("r1")).state == "running"  # type: ignore[union-attr]
    assert await store.read_events("r2") == [(1, "{}")]


async def test_record_runs_retried_after_landing_is_a_no_op(store: Store) -> None:
    """Retrying a write that landed finds its header and rows there and does not fail."""
    write = RunWrite("r1", "u1", "bench", 60, create=True, events=[(1, "{}")])
    assert await store.record_runs([write]) == [None]
    assert await store.record_runs([write]) == [None]
    assert await store.read_events("r1") == [(1, "{}")]


async def test_expired_run_and_log_filtered(store: Store, clock: Any) -> None:
    """After its TTL a run and its log are gone to readers, before any purge."""
    await store.put_run("r1", "u1", "calledit", ttl_s=30)
    await store.append_events("r1", [(1, "{}")])
    clock.advance(31)
    assert await store.get_run("r1") is None
    assert await store.read_events("r1") == []
    with pytest.raises(NotFound):
        await store.append_events("r1", [(2, "{}")])
    with pytest.raises(NotFound):
        await store.set_run_state("r1", "finished")


# --- chat messages ----------------------------------------------------------------------------


async def test_messages_in_order(store: Store) -> None:
    """Messages read back in order; a limit gives the most recent ones, still in order."""
    for i in range(5):
        assert await store.append_message("t1", {"role": "user", "n": i}) == i + 1
    assert [m["n"] for m in await store.read_messages("t1")] == [0, 1, 2, 3, 4]
    assert [m["n"] for m in await store.read_messages("t1", limit=2)] == [3, 4]
    assert await store.read_messages("other") == []


async def test_concurrent_messages_all_kept(store: Store) -> None:
    """Concurrent appends to one thread keep every message under distinct positions."""
    seqs = await asyncio.gather(*(store.append_message("t1", {"n": i}) for i in range(10)))
    assert sorted(seqs) == list(range(1, 11))
    assert sorted(m["n"] for m in await store.read_messages("t1")) == list(range(10))


async def test_message_must_be_json_object(store: Store) -> None:
    """A message that is not a JSON object is refused, naming the message."""
    with pytest.raises(InvalidRecord, match="message"):
        await store.append_message("t1", {"when": object()})


# --- lifecycle --------------------------------------------------------------------------------


async def test_closed_store_refuses(store: Store) -> None:
    """After close, operations fail with StoreError instead of hanging; close is idempotent."""
    await store.close()
    await store.close()
    with pytest.raises(StoreError):
        await store.get_run("x")
    await store.open()
    assert await store.list_connections() == []
