"""A node's lease and control channel: a dead node's runs fail honestly, the others run on."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from agentstream.cluster.node import LOST_CODE, ClusterNode
from agentstream.protocol.codec import decode
from agentstream.runs.registry import RunRegistry
from agentstream.runs.run import Run
from agentstream.stores import open_store
from agentstream.stores.redis import RedisStore
from tests.cluster.conftest import Cluster
from tests.conftest import recv_json
from tests.identities import as_user

PROMPT = json.dumps({"action": "makecall", "prompt": "It will rain in Paris tomorrow"})
ENDS = ("RUN_FINISHED", "RUN_ERROR")


@pytest.fixture
async def stores(redis_server: str) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two nodes' stores on one Redis and prefix, with a short lease."""
    url = f"{redis_server}?prefix=n{uuid.uuid4().hex[:8]}:&lease=0.5"
    async with open_store(url, node="a") as a, open_store(url, node="b") as b:
        assert isinstance(a, RedisStore) and isinstance(b, RedisStore)
        yield a, b


async def test_a_run_of_a_silent_node_is_failed_after_what_was_seen(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    """A run whose node never beat is failed with node_lost, at a seq after the client's."""
    a, b = stores
    await a.put_run("r1", "u1", "calledit")
    await a.append_events("r1", [(1, "{}")])
    judge = ClusterNode(b, RunRegistry())
    assert await judge.settle("r1", seen=4) == "failed"
    (seq, text), *_ = await b.read_events("r1", after_seq=1)
    error = decode(text)
    assert (seq, error.seq, getattr(error, "code", None)) == (5, 5, LOST_CODE)
    assert await judge.settle("r1") == "failed"  # judged once; the second look only reads


async def test_a_run_of_a_live_node_is_left_alone(stores: tuple[RedisStore, RedisStore]) -> None:
    """While its node holds the lease, a running run stays running and its log untouched."""
    a, b = stores
    owner = ClusterNode(a, RunRegistry())
    await owner.heartbeat()
    await a.put_run("r1", "u1", "calledit")
    assert await ClusterNode(b, RunRegistry()).settle("r1") == "running"
    assert await b.read_events("r1") == []
    assert await ClusterNode(b, RunRegistry()).settle("nope") is None


async def test_cancel_over_the_channel_reaches_only_the_owners_run(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    """A cancel message stops the run of the named owner; a wrong owner or garbage does nothing."""
    a, b = stores
    runs = RunRegistry()
    node = ClusterNode(a, runs)
    await node.start()
    try:
        run = runs.add(Run(owner="u1"))
        other = ClusterNode(b, RunRegistry())
        await other.tell("cancel", run.id, "u2")
        node.on_control(b"not json")
        node.on_control(json.dumps({"op": "explode", "run": run.id, "owner": "u1"}))
        await asyncio.sleep(0.3)
        assert not run.cancel_signal.is_set()
        await other.tell("cancel", run.id, "u1")
        for _ in range(50):
            if run.cancel_signal.is_set():
                break
            await asyncio.sleep(0.05)
        assert run.cancel_signal.is_set()
    finally:
        await node.stop()
    assert not await b.client.exists(b.key("node", "a"))  # the lease is given back


async def read_to_end(ws: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
    frames = [await recv_json(ws, timeout)]
    while frames[-1].get("type") not in ENDS:
        frames.append(await recv_json(ws, timeout))
    return frames


async def test_kill_9_fails_that_nodes_runs_and_spares_the_others(two_nodes: Cluster) -> None:
    """kill -9 of a node mid-run: its client gets node_lost on resume; the other run finishes."""
    doomed, survivor = two_nodes.nodes
    alice, bob = as_user(doomed.http, "alice"), as_user(survivor.http, "bob")
    on_doomed = await websockets.connect(doomed.ws, additional_headers=alice)
    on_survivor = await websockets.connect(survivor.ws, additional_headers=bob)
    await on_doomed.send(PROMPT)
    await on_survivor.send(PROMPT)
    seen = [await recv_json(on_doomed) for _ in range(15)]
    doomed.kill()
    resumed = await websockets.connect(survivor.ws, additional_headers=alice)
    await resumed.send(
        json.dumps({"action": "resume", "runId": seen[0]["runId"], "lastSeq": seen[-1]["seq"]})
    )
    answer = await recv_json(resumed)
    assert answer["state"] in ("running", "failed")
    rest = await read_to_end(resumed)  # within a lease (1.5 s) or so; the timeout is generous
    assert (rest[-1]["type"], rest[-1]["code"]) == ("RUN_ERROR", LOST_CODE)
    assert [f["seq"] for f in seen + rest] == list(range(1, len(seen) + len(rest) + 1))
    other = await read_to_end(on_survivor)
    assert other[-1]["type"] == "RUN_FINISHED"
    assert [f["seq"] for f in other] == list(range(1, len(other) + 1))
    for ws in (resumed, on_survivor):
        await ws.close()
