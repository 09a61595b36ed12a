"""SSE from any node: ``GET /api/runs/{id}/events`` on node B streams a run node A runs or ran.

Real processes on a redis-server of their own (see ``conftest.py``); the reader on B is the
cluster's follower (XRANGE chunks, then XREAD BLOCK), so no gap, no duplicate, ``Last-Event-ID``
honoured, another user's run a 404 like a random id.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.cluster.conftest import Cluster, Node
from tests.cluster.test_remote import ENDS, PROMPT, connect, full_log, headers
from tests.conftest import recv_json


async def sse(
    node: Node, hdrs: dict[str, str], run_id: str, after: int | None = None
) -> tuple[int, list[dict[str, Any]], list[int]]:
    """Read a run's SSE from ``node`` to its end: (status, frames, ids)."""
    extra = {"Last-Event-ID": str(after)} if after is not None else {}
    url = f"{node.http}/api/runs/{run_id}/events?dialect=agentstream"
    frames: list[dict[str, Any]] = []
    ids: list[int] = []
    async with httpx.AsyncClient(headers=hdrs, timeout=30) as http:
        async with http.stream("GET", url, headers=extra) as answer:
            if answer.status_code != 200:
                await answer.aread()
                return answer.status_code, [answer.json()], []
            async for line in answer.aiter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                elif line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
    return 200, frames, ids


async def test_a_run_started_over_http_on_a_streams_whole_over_sse_on_b(
    three_nodes: Cluster,
) -> None:
    """POST /api/runs on A, GET its events on B: every event once, in order, as the log has them."""
    hdrs = headers(three_nodes, "sse-reader")
    a, b = three_nodes.nodes[0], three_nodes.nodes[1]
    async with httpx.AsyncClient(headers=hdrs) as http:
        started = await http.post(
            f"{a.http}/api/runs", content=PROMPT, headers={"Content-Type": "application/json"}
        )
    assert started.status_code == 201, started.text
    run_id = started.json()["runId"]
    status, frames, ids = await sse(b, hdrs, run_id)
    assert status == 200
    assert ids == [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "RUN_FINISHED"
    await asyncio.sleep(0.3)  # the owner's final state write
    assert frames == await full_log(three_nodes, hdrs, run_id)


async def test_last_event_id_mid_run_on_another_node_continues_exactly(
    three_nodes: Cluster,
) -> None:
    """A socket on A reads some events; SSE on C after its last id gets the rest, none twice."""
    hdrs = headers(three_nodes, "sse-resumer")
    async with await connect(three_nodes.nodes[0], hdrs) as ws:
        await ws.send(PROMPT)
        seen = [await recv_json(ws) for _ in range(5)]
        run_id = seen[0]["runId"]
        status, rest, ids = await sse(three_nodes.nodes[2], hdrs, run_id, seen[-1]["seq"])
    assert status == 200
    assert ids[0] == seen[-1]["seq"] + 1 and rest[-1]["type"] in ENDS
    everything = seen + rest
    assert [f["seq"] for f in everything] == list(range(1, len(everything) + 1))
    await asyncio.sleep(0.3)
    assert everything == await full_log(three_nodes, hdrs, run_id)
    status, after_end, _ = await sse(three_nodes.nodes[1], hdrs, run_id, rest[-1]["seq"])
    assert (status, after_end) == (200, [])  # at the end already: an empty stream, no error


async def test_another_user_or_a_random_id_gets_the_same_404_on_another_node(
    three_nodes: Cluster,
) -> None:
    """A run id is worth nothing to another user on any node: 404 exactly as an unknown id."""
    owner = headers(three_nodes, "sse-owner")
    async with httpx.AsyncClient(headers=owner) as http:
        started = await http.post(
            f"{three_nodes.nodes[0].http}/api/runs",
            content=PROMPT,
            headers={"Content-Type": "application/json"},
        )
    run_id = started.json()["runId"]
    thief = headers(three_nodes, "sse-thief")
    foreign = await sse(three_nodes.nodes[1], thief, run_id)
    unknown = await sse(three_nodes.nodes[1], thief, "r" + "0" * 31)
    assert foreign[0] == unknown[0] == 404
    assert foreign[1] == unknown[1]
    status, frames, _ = await sse(three_nodes.nodes[1], owner, run_id)  # the owner still reads it
    assert status == 200 and frames[-1]["type"] == "RUN_FINISHED"


async def test_a_lost_nodes_run_read_over_sse_elsewhere_ends_with_node_lost(
    two_nodes: Cluster,
) -> None:
    """kill -9 of the node running a model: an SSE reader on the other node gets a node_lost end."""
    hdrs = headers(two_nodes, "sse-lost")
    a, b = two_nodes.nodes
    ws = await connect(a, hdrs)
    await ws.send(PROMPT)
    seen = [await recv_json(ws) for _ in range(4)]
    await asyncio.sleep(0.3)  # the recorder writes its batch
    a.kill()
    status, rest, ids = await asyncio.wait_for(sse(b, hdrs, seen[0]["runId"], seen[-1]["seq"]), 30)
    assert status == 200
    assert rest and (rest[-1]["type"], rest[-1]["code"]) == ("RUN_ERROR", "node_lost")
    assert ids == sorted(set(ids)) and ids[0] > seen[-1]["seq"]


def agui_input(run_id: str) -> dict[str, Any]:
    """An AG-UI RunAgentInput asking CalledIt for a call."""
    prompt = json.loads(PROMPT)["prompt"]
    return {
        "threadId": "thread-x",
        "runId": run_id,
        "messages": [{"id": "m1", "role": "user", "content": prompt}],
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }


async def agui_post(
    node: Node, hdrs: dict[str, str], body: dict[str, Any], after: int = 0, stop: int = 0
) -> tuple[int, list[int], list[dict[str, Any]]]:
    """POST /api/agui; read (up to ``stop`` events, else to the end): (status, ids, frames)."""
    extra = {"Last-Event-ID": str(after)} if after else {}
    ids: list[int] = []
    frames: list[dict[str, Any]] = []
    async with httpx.AsyncClient(headers=hdrs, timeout=30) as http:
        async with http.stream("POST", f"{node.http}/api/agui", json=body, headers=extra) as r:
            if r.status_code != 200:
                return r.status_code, [], []
            async for line in r.aiter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                elif line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
                    if stop and len(frames) == stop:
                        break
    return 200, ids, frames


async def test_an_agui_re_post_with_last_event_id_resumes_on_another_node(
    three_nodes: Cluster,
) -> None:
    """AG-UI run started on A, re-POSTed on B after its last id: the rest, once; others 404."""
    hdrs = headers(three_nodes, "agui-client")
    body = agui_input("client-run-xnode")
    status, ids, _ = await agui_post(three_nodes.nodes[0], hdrs, body, stop=5)
    assert status == 200 and len(ids) == 5
    status, rest, frames = await agui_post(three_nodes.nodes[1], hdrs, body, after=ids[-1])
    assert status == 200
    everything = ids + rest
    assert everything == list(range(1, len(everything) + 1))
    assert frames[-1]["type"] == "RUN_FINISHED" and frames[-1]["runId"] == "client-run-xnode"
    thief = headers(three_nodes, "agui-thief")
    assert (await agui_post(three_nodes.nodes[2], thief, body, after=2))[0] == 404
