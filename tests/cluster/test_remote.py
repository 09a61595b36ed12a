"""Any node serves any run: resume on another node with no gap and no duplicate, cancel anywhere.

These start real processes (``agentstream serve calledit --model scripted --store redis://…``)
on a redis-server of their own; see ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import websockets

from tests.cluster.conftest import Cluster, Node
from tests.conftest import recv_json
from tests.identities import as_user

PROMPT = json.dumps({"action": "makecall", "prompt": "It will rain in Paris tomorrow"})
ENDS = ("RUN_FINISHED", "RUN_ERROR")


def headers(cluster: Cluster, name: str) -> dict[str, str]:
    """One user's headers, from the first node, used on every node (the secret is shared)."""
    return as_user(cluster.nodes[0].http, name)


async def connect(node: Node, hdrs: dict[str, str]) -> Any:
    return await websockets.connect(node.ws, additional_headers=hdrs)


async def resume(node: Node, hdrs: dict[str, str], run_id: str, last_seq: int) -> Any:
    ws = await connect(node, hdrs)
    await ws.send(json.dumps({"action": "resume", "runId": run_id, "lastSeq": last_seq}))
    return ws


async def full_log(cluster: Cluster, hdrs: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    """Every event of a finished run, replayed from seq 0 by a random node."""
    ws = await resume(random.choice(cluster.nodes), hdrs, run_id, 0)
    frames: list[dict[str, Any]] = []
    async with ws:
        answer = await recv_json(ws)
        # "running" while the node's final state write is still on its way: the log is whole.
        assert answer["state"] in ("finished", "running"), answer
        while not frames or frames[-1]["type"] not in ENDS:
            frames.append(await recv_json(ws))
    return frames


async def chaos_client(cluster: Cluster, index: int, rng: random.Random) -> tuple[list, list, int]:
    """Start a run on a random node, drop at random moments, resume on a random node each time."""
    hdrs = headers(cluster, f"chaos{index}")
    seen: list[dict[str, Any]] = []
    ws = await connect(rng.choice(cluster.nodes), hdrs)
    await ws.send(PROMPT)
    run_id, drops = None, 0
    for _ in range(rng.randint(1, 4)):
        for _ in range(rng.randint(0, 30)):
            frame = await recv_json(ws)
            if frame["type"] == "resume":
                continue
            run_id = frame["runId"]
            seen.append(frame)
            if frame["type"] in ENDS:
                break
        if (seen and seen[-1]["type"] in ENDS) or run_id is None:
            break
        ws.transport.abort()  # a dropped network, not a polite close
        drops += 1
        ws = await resume(rng.choice(cluster.nodes), hdrs, run_id, seen[-1]["seq"] if seen else 0)
    while not seen or seen[-1]["type"] not in ENDS:
        frame = await recv_json(ws)
        if frame["type"] != "resume":
            run_id = frame["runId"]
            seen.append(frame)
    await ws.close()
    return seen, await full_log(cluster, hdrs, run_id or ""), drops


async def test_chaos_clients_resuming_on_random_nodes_lose_and_repeat_nothing(
    three_nodes: Cluster,
) -> None:
    """60 runs whose clients drop and resume on random nodes each end with exactly the log."""
    rng = random.Random(20261130)
    limit = asyncio.Semaphore(20)

    async def one(i: int) -> tuple[list, list, int]:
        async with limit:
            return await chaos_client(three_nodes, i, random.Random(rng.random()))

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(60))), 240)
    for seen, log, _ in results:
        assert [f["seq"] for f in seen] == list(range(1, len(seen) + 1))
        assert seen == log
        assert seen[-1]["type"] == "RUN_FINISHED"
    assert sum(drops for *_, drops in results) > 40  # the chaos really happened


async def test_a_finished_run_replays_whole_from_any_node(three_nodes: Cluster) -> None:
    """A run that ended on one node replays from seq 0 on each of the others, identically."""
    hdrs = headers(three_nodes, "replayer")
    async with await connect(three_nodes.nodes[0], hdrs) as ws:
        await ws.send(PROMPT)
        frames = [await recv_json(ws)]
        while frames[-1]["type"] not in ENDS:
            frames.append(await recv_json(ws))
    await asyncio.sleep(0.5)  # the recorder's last batch
    for node in three_nodes.nodes[1:]:
        async with await resume(node, hdrs, frames[0]["runId"], 0) as ws:
            assert (await recv_json(ws))["state"] == "finished"
            replay = [await recv_json(ws) for _ in frames]
        assert replay == frames


async def test_cancel_on_another_node_stops_the_run_where_it_runs(three_nodes: Cluster) -> None:
    """A cancel sent to node B stops the run node A runs; both sockets see the cancelled end."""
    hdrs = headers(three_nodes, "canceller")
    a, b = three_nodes.nodes[0], three_nodes.nodes[1]
    async with await connect(a, hdrs) as on_a:
        await on_a.send(PROMPT)
        run_id = (await recv_json(on_a))["runId"]
        await asyncio.sleep(0.4)  # the run is recorded and streaming
        async with await connect(b, hdrs) as on_b:
            await on_b.send(json.dumps({"action": "cancel", "runId": run_id}))
            answer = await recv_json(on_b)
            assert (answer["type"], answer["state"]) == ("cancel", "cancelling")
        frame = await recv_json(on_a)
        while frame["type"] not in ENDS:
            frame = await recv_json(on_a)
        assert (frame["type"], frame["code"]) == ("RUN_ERROR", "cancelled")
    async with await resume(b, hdrs, run_id, frame["seq"] - 1) as ws:
        assert (await recv_json(ws))["state"] in ("cancelled", "running")
        assert (await recv_json(ws))["code"] == "cancelled"


async def test_another_user_cannot_resume_or_cancel_on_another_node(three_nodes: Cluster) -> None:
    """A run id is worth nothing to another user on any node: both answer unknown."""
    async with await connect(three_nodes.nodes[0], headers(three_nodes, "owner")) as ws:
        await ws.send(PROMPT)
        run_id = (await recv_json(ws))["runId"]
        await asyncio.sleep(0.4)
        async with await resume(
            three_nodes.nodes[2], headers(three_nodes, "thief"), run_id, 0
        ) as t:
            assert (await recv_json(t))["state"] == "unknown"
            await t.send(json.dumps({"action": "cancel", "runId": run_id}))
            assert (await recv_json(t))["state"] == "unknown"


async def test_a_resume_racing_the_runs_first_write_still_follows_it(three_nodes: Cluster) -> None:
    """Dropping right after the first event and resuming elsewhere at once loses nothing."""
    hdrs = headers(three_nodes, "hasty")
    async with await connect(three_nodes.nodes[0], hdrs) as ws:
        await ws.send(PROMPT)
        first = await recv_json(ws)
    async with await resume(three_nodes.nodes[1], hdrs, first["runId"], first["seq"]) as ws:
        assert (await recv_json(ws))["state"] == "running"
        frames = [first, await recv_json(ws)]
        while frames[-1]["type"] not in ENDS:
            frames.append(await recv_json(ws))
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "RUN_FINISHED"


async def test_cancel_over_http_on_another_node_stops_the_run(three_nodes: Cluster) -> None:
    """POST /api/runs/{id}/cancel on node C answers 202 and stops the run node A runs."""
    hdrs = headers(three_nodes, "http-canceller")
    async with await connect(three_nodes.nodes[0], hdrs) as on_a:
        await on_a.send(PROMPT)
        run_id = (await recv_json(on_a))["runId"]
        await asyncio.sleep(0.4)
        async with httpx.AsyncClient(headers=hdrs) as http:
            url = f"{three_nodes.nodes[2].http}/api/runs/{run_id}/cancel"
            answer = await http.post(url, json={})
        assert (answer.status_code, answer.json().get("state")) == (202, "cancelling"), answer.text
        frame = await recv_json(on_a)
        while frame["type"] not in ENDS:
            frame = await recv_json(on_a)
        assert (frame["type"], frame["code"]) == ("RUN_ERROR", "cancelled")
