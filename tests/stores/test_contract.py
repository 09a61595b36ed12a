"""The Store contract: every behaviour here holds for every backend (see conftest ``store``)."""

from __future__ import annotations

import asyncio
import copy
from datetime import date
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
from agentstream.stores.base import iso_utc

RECORD: dict[str, Any] = {
    "prediction_statement": "It will rain in Paris on 2025-12-31.",
    "verification_date": "2025-12-31",
    "verification_method": {
        "source": ["Météo-France archive"],
        "criteria": ["Measurable rainfall in Paris that day"],
        "steps": ["Wait until 2025-12-31", "Check the daily report"],
    },
    "initial_status": "pending",
}


def record(**changes: Any) -> dict[str, Any]:
    """A valid record with some top-level fields replaced."""
    return copy.deepcopy(RECORD) | changes


def method(**changes: Any) -> dict[str, Any]:
    """A valid record whose verification_method has some fields replaced."""
    out = record()
    out["verification_method"] |= changes
    return out


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


async def test_connection_bad_ttl_refused(store: Store) -> None:
    """A connection with a non-positive TTL is refused, naming ttl_s."""
    with pytest.raises(InvalidRecord, match="ttl_s"):
        await store.put_connection("c1", "u1", 0, 0)


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


# --- calls ------------------------------------------------------------------------------------


async def test_save_and_get_call(store: Store) -> None:
    """A saved call reads back pending, with its (normalized) record and run id."""
    saved = await store.save_call("u1", record(prediction_statement="  Rain.  "), run_id="r1")
    got = await store.get_call("u1", saved.call_id)
    assert got == saved
    assert got.status == "pending" and got.run_id == "r1" and got.verdict is None
    assert got.record["prediction_statement"] == "Rain."


async def test_same_run_twice_no_duplicate(store: Store) -> None:
    """Logging the same run twice returns the first call, not a duplicate."""
    first = await store.save_call("u1", record(), run_id="r1")
    again = await store.save_call("u1", record(prediction_statement="edited"), run_id="r1")
    assert again == first
    rows, _ = await store.list_calls("u1")
    assert [r.call_id for r in rows] == [first.call_id]


async def test_same_run_concurrently_one_row(store: Store) -> None:
    """Twenty concurrent saves of one run leave exactly one call, returned to all."""
    saved = await asyncio.gather(*(store.save_call("u1", record(), run_id="r1") for _ in range(20)))
    assert len({s.call_id for s in saved}) == 1
    rows, cursor = await store.list_calls("u1", limit=100)
    assert len(rows) == 1 and cursor is None


async def test_same_run_id_different_users(store: Store) -> None:
    """The run-id guard is per user: two users' run ids never collide."""
    a = await store.save_call("alice", record(), run_id="r1")
    b = await store.save_call("bob", record(), run_id="r1")
    assert a.call_id != b.call_id


@pytest.mark.parametrize("user_id", ["", "has space", "has#hash", "x" * 257])
async def test_bad_user_id_refused(store: Store, user_id: str) -> None:
    """A malformed user id is refused, naming user_id (identities are opaque but bounded)."""
    with pytest.raises(InvalidRecord, match="^user_id: "):
        await store.save_call(user_id, record(), run_id="r1")
    with pytest.raises(InvalidRecord, match="^user_id: "):
        await store.put_connection("c1", user_id, 0, 60)


async def test_calls_without_run_id(store: Store) -> None:
    """User-edited calls without a run id are all kept."""
    await store.save_call("u1", record(), run_id=None)
    await store.save_call("u1", record(), run_id=None)
    rows, _ = await store.list_calls("u1")
    assert len(rows) == 2


async def test_explicit_call_id_reuse_is_conflict(store: Store) -> None:
    """Saving a different call under an existing call id is a Conflict."""
    await store.save_call("u1", record(), run_id=None, call_id="mine")
    with pytest.raises(Conflict):
        await store.save_call("u1", record(), run_id=None, call_id="mine")
    with pytest.raises(Conflict):
        await store.save_call("u1", record(), run_id="r9", call_id="mine")


async def test_other_users_call_is_not_found(store: Store) -> None:
    """Another user's call answers NotFound, exactly like an unknown id."""
    saved = await store.save_call("alice", record(), run_id="r1")
    with pytest.raises(NotFound):
        await store.get_call("bob", saved.call_id)
    with pytest.raises(NotFound):
        await store.get_call("alice", "no-such-call")
    with pytest.raises(NotFound):
        await store.get_call("alice", "run#r1")
    assert (await store.list_calls("bob"))[0] == []


async def test_list_newest_first(store: Store, clock: Any) -> None:
    """A user's calls list newest first."""
    ids = []
    for _ in range(4):
        ids.append((await store.save_call("u1", record(), run_id=None)).call_id)
        clock.advance(1)
    rows, _ = await store.list_calls("u1")
    assert [r.call_id for r in rows] == ids[::-1]


async def test_pagination_covers_every_row_once(store: Store) -> None:
    """Paging through a user's calls yields every call exactly once, then no cursor."""
    ids = {(await store.save_call("u1", record(), run_id=f"r{i}")).call_id for i in range(23)}
    await store.save_call("u2", record(), run_id="r0")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        rows, cursor = await store.list_calls("u1", limit=5, cursor=cursor)
        seen += [r.call_id for r in rows]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 23 and pages == 5


async def test_exact_page_has_no_next_cursor(store: Store) -> None:
    """When the rows fill the last page exactly, no cursor to an empty page is returned."""
    for i in range(4):
        await store.save_call("u1", record(), run_id=f"r{i}")
    rows, cursor = await store.list_calls("u1", limit=2)
    rows2, cursor2 = await store.list_calls("u1", limit=2, cursor=cursor)
    assert len(rows) == len(rows2) == 2 and cursor2 is None


async def test_bad_cursor_and_limit_refused(store: Store) -> None:
    """A forged cursor or an out-of-range limit is refused, naming the argument."""
    with pytest.raises(InvalidRecord, match="cursor"):
        await store.list_calls("u1", cursor="not-a-cursor")
    with pytest.raises(InvalidRecord, match="limit"):
        await store.list_calls("u1", limit=0)
    with pytest.raises(InvalidRecord, match="limit"):
        await store.list_calls("u1", limit=store.limits.max_page + 1)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("not a dict", "record"),
        (record(prediction_statement="   "), "prediction_statement"),
        (record(prediction_statement="x" * 2001), "prediction_statement"),
        (record(verification_date="31/12/2025"), "verification_date"),
        (record(verification_date="2025-02-30"), "verification_date"),
        (record(initial_status="verified_true"), "initial_status"),
        (record(verification_method=["source"]), "verification_method"),
        (method(source=[]), "verification_method.source"),
        (method(criteria="one"), "verification_method.criteria"),
        (method(steps=["ok", ""]), r"verification_method.steps\[1\]"),
        (record(surprise=1), "surprise"),
        ({k: v for k, v in RECORD.items() if k != "verification_date"}, "verification_date"),
    ],
)
async def test_malformed_record_names_field(store: Store, bad: Any, field: str) -> None:
    """A malformed record is refused with an error naming the field."""
    with pytest.raises(InvalidRecord, match=f"^{field}: "):
        await store.save_call("u1", bad, run_id="r1")
    assert (await store.list_calls("u1"))[0] == []


async def test_oversized_record_refused(store: Store) -> None:
    """A record over 32 KB serialized is refused as too large."""
    big = method(source=["s" * 1900] * 20)
    with pytest.raises(InvalidRecord, match=r"^record: .*over the 32768"):
        await store.save_call("u1", big, run_id="r1")


async def test_missing_initial_status_defaults_pending(store: Store) -> None:
    """A record without initial_status is stored as pending."""
    bare = {k: v for k, v in RECORD.items() if k != "initial_status"}
    saved = await store.save_call("u1", bare, run_id=None)
    assert saved.record["initial_status"] == "pending"


async def test_set_verdict(store: Store, clock: Any) -> None:
    """A verdict is saved with the call: status, reasoning, evidence and verified_at."""
    saved = await store.save_call("u1", record(), run_id="r1")
    verdict = {"status": "verified_true", "reasoning": "It rained.", "evidence": ["report"]}
    updated = await store.set_verdict("u1", saved.call_id, verdict)
    got = await store.get_call("u1", saved.call_id)
    assert got == updated and got.status == "verified_true"
    assert got.verdict is not None
    assert (got.verdict.reasoning, got.verdict.evidence) == ("It rained.", ["report"])
    assert got.verdict.verified_at == iso_utc(clock())


async def test_set_verdict_refusals(store: Store) -> None:
    """A bad verdict status is refused; another user's or an unknown call is NotFound."""
    saved = await store.save_call("u1", record(), run_id="r1")
    with pytest.raises(InvalidRecord, match="verdict.status"):
        await store.set_verdict("u1", saved.call_id, {"status": "pending"})
    with pytest.raises(InvalidRecord, match="verdict.evidence"):
        await store.set_verdict("u1", saved.call_id, {"status": "inconclusive", "evidence": "x"})
    with pytest.raises(NotFound):
        await store.set_verdict("u2", saved.call_id, {"status": "inconclusive"})
    with pytest.raises(NotFound):
        await store.set_verdict("u1", "run#r1", {"status": "inconclusive"})


async def test_due_calls(store: Store) -> None:
    """Due calls are pending calls of any user dated on or before the day, oldest first."""
    late = await store.save_call("a", record(verification_date="2025-03-01"), run_id=None)
    early = await store.save_call("b", record(verification_date="2025-01-01"), run_id=None)
    on_day = await store.save_call("c", record(verification_date="2025-06-01"), run_id=None)
    await store.save_call("d", record(verification_date="2025-06-02"), run_id=None)
    done = await store.save_call("e", record(verification_date="2025-01-02"), run_id=None)
    await store.set_verdict("e", done.call_id, {"status": "verified_false"})
    due = await store.due_calls(date(2025, 6, 1))
    assert [c.call_id for c in due] == [early.call_id, late.call_id, on_day.call_id]
    assert [c.call_id for c in await store.due_calls(date(2025, 6, 1), limit=1)] == [early.call_id]


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
        await store.get_call("u1", "x")
    await store.open()
    assert await store.list_connections() == []
