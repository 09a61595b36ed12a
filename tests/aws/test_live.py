"""The live_runs table on moto: subscribe, hold/release, cancel flag, finish, ownership."""

from __future__ import annotations

import uuid

from agentstream.aws.live import FINISHED, RUNNING, TABLES, TTL_ATTRIBUTE, Subscription
from tests.aws.lambda_world import AwsWorld


def rid() -> str:
    return "run_" + uuid.uuid4().hex


async def test_a_created_run_reads_back_with_its_first_subscriber(world: AwsWorld) -> None:
    """create then read: owner, running, no cancel, the first subscriber (ids with '=' kept)."""
    await world.adapter.open()
    live, run = world.adapter.live, rid()
    await live.create(run, "alice", Subscription("c1=", 0, "calledit"))
    row = await live.read(run)
    assert row is not None and (row.owner, row.state, row.cancel) == ("alice", RUNNING, False)
    assert row.subs == {"c1=": Subscription("c1=", 0, "calledit", False)}
    assert await live.read(rid()) is None


async def test_only_the_owner_subscribes_and_only_while_running(world: AwsWorld) -> None:
    """subscribe: True for the owner of a running run; False for others and after finish."""
    await world.adapter.open()
    live, run = world.adapter.live, rid()
    await live.create(run, "alice", Subscription("c1"))
    assert not await live.subscribe(run, "mallory", Subscription("m", 0, held=True))
    assert await live.subscribe(run, "alice", Subscription("c2", 7, "agentstream", held=True))
    assert (await live.read(run)).subs["c2"].held  # type: ignore[union-attr]
    assert await live.release(run, "c2")
    assert not (await live.read(run)).subs["c2"].held  # type: ignore[union-attr]
    final = await live.finish(run)
    assert final.state == FINISHED and set(final.subs) == {"c1", "c2"}
    assert not await live.subscribe(run, "alice", Subscription("c3"))
    assert not await live.release(run, "c2")
    assert not await live.subscribe(rid(), "alice", Subscription("c4"))


async def test_cancel_flag_is_raised_once_by_the_owner_of_a_running_run(world: AwsWorld) -> None:
    """request_cancel: refused for others, True once for the owner, False when already raised."""
    await world.adapter.open()
    live, run = world.adapter.live, rid()
    await live.create(run, "alice", Subscription("c1"))
    assert not await live.request_cancel(run, "mallory")
    assert await live.request_cancel(run, "alice")
    assert not await live.request_cancel(run, "alice")
    assert (await live.read(run)).cancel  # type: ignore[union-attr]


async def test_unsubscribe_forgets_one_connection(world: AwsWorld) -> None:
    """unsubscribe removes that subscriber and keeps the others."""
    await world.adapter.open()
    live, run = world.adapter.live, rid()
    await live.create(run, "alice", Subscription("c1"))
    await live.subscribe(run, "alice", Subscription("c2"))
    await live.unsubscribe(run, "c1")
    assert set((await live.read(run)).subs) == {"c2"}  # type: ignore[union-attr]


def test_the_table_has_a_ttl_named_like_the_template_expects() -> None:
    """live_runs is keyed by run_id with TTL attribute expires_at."""
    assert TABLES["live_runs"].pk == "run_id" and TABLES["live_runs"].ttl == TTL_ATTRIBUTE
