"""The call store contract: every behaviour here holds on SQLite and on DynamoDB (moto)."""

from __future__ import annotations

import asyncio
import copy
from datetime import date
from typing import Any

import pytest

from agentstream.apps.calledit.records import CallStore
from agentstream.apps.calledit.records.rows import iso_utc
from agentstream.stores import Conflict, InvalidRecord, NotFound, Store, StoreError

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


# --- calls ------------------------------------------------------------------------------------


async def test_save_and_get_call(calls: CallStore) -> None:
    """A saved call reads back pending, with its (normalized) record and run id."""
    saved = await calls.save_call("u1", record(prediction_statement="  Rain.  "), run_id="r1")
    got = await calls.get_call("u1", saved.call_id)
    assert got == saved
    assert got.status == "pending" and got.run_id == "r1" and got.verdict is None
    assert got.record["prediction_statement"] == "Rain."


async def test_same_run_twice_no_duplicate(calls: CallStore) -> None:
    """Logging the same run twice returns the first call, not a duplicate."""
    first = await calls.save_call("u1", record(), run_id="r1")
    again = await calls.save_call("u1", record(prediction_statement="edited"), run_id="r1")
    assert again == first
    rows, _ = await calls.list_calls("u1")
    assert [r.call_id for r in rows] == [first.call_id]


async def test_same_run_concurrently_one_row(calls: CallStore) -> None:
    """Twenty concurrent saves of one run leave exactly one call, returned to all."""
    saved = await asyncio.gather(*(calls.save_call("u1", record(), run_id="r1") for _ in range(20)))
    assert len({s.call_id for s in saved}) == 1
    rows, cursor = await calls.list_calls("u1", limit=100)
    assert len(rows) == 1 and cursor is None


async def test_same_run_id_different_users(calls: CallStore) -> None:
    """The run-id guard is per user: two users' run ids never collide."""
    a = await calls.save_call("alice", record(), run_id="r1")
    b = await calls.save_call("bob", record(), run_id="r1")
    assert a.call_id != b.call_id


@pytest.mark.parametrize("user_id", ["", "has space", "has#hash", "x" * 257])
async def test_bad_user_id_refused(calls: CallStore, store: Store, user_id: str) -> None:
    """A malformed user id is refused, naming user_id (identities are opaque but bounded)."""
    with pytest.raises(InvalidRecord, match="^user_id: "):
        await calls.save_call(user_id, record(), run_id="r1")
    with pytest.raises(InvalidRecord, match="^user_id: "):
        await store.put_connection("c1", user_id, 0, 60)


async def test_calls_without_run_id(calls: CallStore) -> None:
    """User-edited calls without a run id are all kept."""
    await calls.save_call("u1", record(), run_id=None)
    await calls.save_call("u1", record(), run_id=None)
    rows, _ = await calls.list_calls("u1")
    assert len(rows) == 2


async def test_explicit_call_id_reuse_is_conflict(calls: CallStore) -> None:
    """Saving a different call under an existing call id is a Conflict."""
    await calls.save_call("u1", record(), run_id=None, call_id="mine")
    with pytest.raises(Conflict):
        await calls.save_call("u1", record(), run_id=None, call_id="mine")
    with pytest.raises(Conflict):
        await calls.save_call("u1", record(), run_id="r9", call_id="mine")


async def test_other_users_call_is_not_found(calls: CallStore) -> None:
    """Another user's call answers NotFound, exactly like an unknown id."""
    saved = await calls.save_call("alice", record(), run_id="r1")
    with pytest.raises(NotFound):
        await calls.get_call("bob", saved.call_id)
    with pytest.raises(NotFound):
        await calls.get_call("alice", "no-such-call")
    with pytest.raises(NotFound):
        await calls.get_call("alice", "run#r1")
    assert (await calls.list_calls("bob"))[0] == []


async def test_list_newest_first(calls: CallStore, clock: Any) -> None:
    """A user's calls list newest first."""
    ids = []
    for _ in range(4):
        ids.append((await calls.save_call("u1", record(), run_id=None)).call_id)
        clock.advance(1)
    rows, _ = await calls.list_calls("u1")
    assert [r.call_id for r in rows] == ids[::-1]


async def test_pagination_covers_every_row_once(calls: CallStore) -> None:
    """Paging through a user's calls yields every call exactly once, then no cursor."""
    ids = {(await calls.save_call("u1", record(), run_id=f"r{i}")).call_id for i in range(23)}
    await calls.save_call("u2", record(), run_id="r0")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        rows, cursor = await calls.list_calls("u1", limit=5, cursor=cursor)
        seen += [r.call_id for r in rows]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 23 and pages == 5


async def test_exact_page_has_no_next_cursor(calls: CallStore) -> None:
    """When the rows fill the last page exactly, no cursor to an empty page is returned."""
    for i in range(4):
        await calls.save_call("u1", record(), run_id=f"r{i}")
    rows, cursor = await calls.list_calls("u1", limit=2)
    rows2, cursor2 = await calls.list_calls("u1", limit=2, cursor=cursor)
    assert len(rows) == len(rows2) == 2 and cursor2 is None


async def test_bad_cursor_and_limit_refused(calls: CallStore) -> None:
    """A forged cursor or an out-of-range limit is refused, naming the argument."""
    with pytest.raises(InvalidRecord, match="cursor"):
        await calls.list_calls("u1", cursor="not-a-cursor")
    with pytest.raises(InvalidRecord, match="limit"):
        await calls.list_calls("u1", limit=0)
    with pytest.raises(InvalidRecord, match="limit"):
        await calls.list_calls("u1", limit=calls.max_page + 1)


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
async def test_malformed_record_names_field(calls: CallStore, bad: Any, field: str) -> None:
    """A malformed record is refused with an error naming the field."""
    with pytest.raises(InvalidRecord, match=f"^{field}: "):
        await calls.save_call("u1", bad, run_id="r1")
    assert (await calls.list_calls("u1"))[0] == []


async def test_oversized_record_refused(calls: CallStore) -> None:
    """A record over 32 KB serialized is refused as too large."""
    big = method(source=["s" * 1900] * 20)
    with pytest.raises(InvalidRecord, match=r"^record: .*over the 32768"):
        await calls.save_call("u1", big, run_id="r1")


async def test_missing_initial_status_defaults_pending(calls: CallStore) -> None:
    """A record without initial_status is stored as pending."""
    bare = {k: v for k, v in RECORD.items() if k != "initial_status"}
    saved = await calls.save_call("u1", bare, run_id=None)
    assert saved.record["initial_status"] == "pending"


async def test_set_verdict(calls: CallStore, clock: Any) -> None:
    """A verdict is saved with the call: status, reasoning, evidence and verified_at."""
    saved = await calls.save_call("u1", record(), run_id="r1")
    verdict = {"status": "verified_true", "reasoning": "It rained.", "evidence": ["report"]}
    updated = await calls.set_verdict("u1", saved.call_id, verdict)
    got = await calls.get_call("u1", saved.call_id)
    assert got == updated and got.status == "verified_true"
    assert got.verdict is not None
    assert (got.verdict.reasoning, got.verdict.evidence) == ("It rained.", ["report"])
    assert got.verdict.verified_at == iso_utc(clock())


async def test_set_verdict_refusals(calls: CallStore) -> None:
    """A bad verdict status is refused; another user's or an unknown call is NotFound."""
    saved = await calls.save_call("u1", record(), run_id="r1")
    with pytest.raises(InvalidRecord, match="verdict.status"):
        await calls.set_verdict("u1", saved.call_id, {"status": "pending"})
    with pytest.raises(InvalidRecord, match="verdict.evidence"):
        await calls.set_verdict("u1", saved.call_id, {"status": "inconclusive", "evidence": "x"})
    with pytest.raises(NotFound):
        await calls.set_verdict("u2", saved.call_id, {"status": "inconclusive"})
    with pytest.raises(NotFound):
        await calls.set_verdict("u1", "run#r1", {"status": "inconclusive"})


async def test_due_calls(calls: CallStore) -> None:
    """Due calls are pending calls of any user dated on or before the day, oldest first."""
    late = await calls.save_call("a", record(verification_date="2025-03-01"), run_id=None)
    early = await calls.save_call("b", record(verification_date="2025-01-01"), run_id=None)
    on_day = await calls.save_call("c", record(verification_date="2025-06-01"), run_id=None)
    await calls.save_call("d", record(verification_date="2025-06-02"), run_id=None)
    done = await calls.save_call("e", record(verification_date="2025-01-02"), run_id=None)
    await calls.set_verdict("e", done.call_id, {"status": "verified_false"})
    due = await calls.due_calls(date(2025, 6, 1))
    assert [c.call_id for c in due] == [early.call_id, late.call_id, on_day.call_id]
    assert [c.call_id for c in await calls.due_calls(date(2025, 6, 1), limit=1)] == [early.call_id]


async def test_closed_store_refuses(calls: CallStore, store: Store) -> None:
    """With its store closed, the call store fails with StoreError instead of hanging."""
    await store.close()
    with pytest.raises(StoreError):
        await calls.get_call("u1", "x")
    with pytest.raises(StoreError):
        await calls.save_call("u1", record(), run_id="r1")
