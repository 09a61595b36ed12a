"""Real-estate orchestrator end to end over a real WebSocket, in seed 004's format."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import websockets

from agentstream.apps import load_app
from agentstream.apps.realestate.documents import DOCS
from agentstream.apps.realestate.orchestrator import Messages, status, usage
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Custom, TextMessageChunk
from tests.apps.realestate.conftest import ZONING_Q
from tests.conftest import LiveServer, recv_json, serve


async def recv_result(ws: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Frames of one run, up to its ``result`` or ``error``."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = await recv_json(ws, timeout)
        frames.append(frame)
        if frame["type"] in ("result", "error"):
            return frames


def invoke(question: str, **extra: Any) -> str:
    return json.dumps({"action": "invoke", "question": question, **extra})


def collapse(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


def shipped_text() -> str:
    """All shipped documents as one whitespace-normalised string."""
    return " ".join(" ".join(p.read_text().split()) for p in DOCS.glob("*.md"))


async def test_zoning_question_is_answered_from_the_prefetched_passages_with_sources(
    realestate_server: LiveServer,
) -> None:
    """A zoning question: statuses, the answer streamed (no extra search), sources, result."""
    async with websockets.connect(realestate_server.ws) as ws:
        await ws.send(
            invoke(ZONING_Q, context="A lot in Capitol Hill", query_type="zoning", requestId="q1")
        )
        frames = await recv_result(ws)
    types = [f["type"] for f in frames]
    assert collapse(types) == ["status", "message_delta", "message", "result"]
    statuses = [f["message"] for f in frames if f["type"] == "status"]
    assert statuses == [
        "Processing your query...",
        "Routing your question to the zoning agent",
        "Searching the Cedar Bay documents...",
        "Found 2 relevant passages",
    ]
    assert frames[0]["requestId"] == "q1"
    assert all(isinstance(f["timestamp"], float) and f["timestamp"] > 1e9 for f in frames)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    messages = [f for f in frames if f["type"] == "message"]
    assert all(set(m) == {"type", "role", "content", "timestamp", "runId", "seq"} for m in messages)
    deltas = "".join(f["content"] for f in frames if f["type"] == "message_delta")
    assert [m["content"] for m in messages] == [deltas]
    result = frames[-1]
    assert set(result) == {"type", "data", "timestamp", "runId", "seq"}
    data = result["data"]
    assert {
        k: data[k] for k in ("success", "agent", "query_type", "tools_available", "tools_used")
    } == {
        "success": True,
        "agent": "zoning",
        "query_type": "zoning",
        "tools_available": 0,
        "tools_used": 0,
    }
    assert data["content"] == messages[-1]["content"]
    quoted = re.search(r'"(.+)"', data["content"])
    assert quoted and quoted.group(1) in shipped_text()
    assert "setback" in quoted.group(1).lower()
    assert [s["doc"] for s in data["sources"]] == ["zoning-residential.md"] * 2
    first = data["sources"][0]
    assert data["citations"] == [{"n": 1, "doc": first["doc"], "section": first["section"]}]
    assert data["content"].endswith(f"\n\nSources: [1] {first['doc']} § {first['section']}")


async def test_one_relevant_passage_is_reported_and_cited_alone(
    realestate_server: LiveServer,
) -> None:
    """Only passages scoring at least 0.3 go in: one found is 'Found 1 relevant passage'."""
    async with websockets.connect(realestate_server.ws) as ws:
        await ws.send(invoke("How tall can a detached ADU be?", query_type="zoning"))
        frames = await recv_result(ws)
    statuses = [f["message"] for f in frames if f["type"] == "status"]
    assert statuses[3] == "Found 1 relevant passage"
    data = frames[-1]["data"]
    assert [s["section"] for s in data["sources"]] == ["Accessory dwelling units"]
    assert data["citations"] == [
        {"n": 1, "doc": "zoning-residential.md", "section": "Accessory dwelling units"}
    ]


async def test_a_question_the_documents_do_not_cover_gets_the_search_tool(
    realestate_server: LiveServer,
) -> None:
    """No passage scores as relevant: the specialist searches with its tool, shown as statuses."""
    async with websockets.connect(realestate_server.ws) as ws:
        await ws.send(invoke("Who won the football game?", query_type="zoning"))
        frames = await recv_result(ws)
    types = [f["type"] for f in frames]
    assert collapse(types) == [
        "status",
        "message_delta",
        "message",
        "status",
        "message_delta",
        "message",
        "result",
    ]
    statuses = [f["message"] for f in frames if f["type"] == "status"]
    assert statuses[3:] == [
        "Found 0 relevant passages",
        "Using tool search_zoning_documents",
        "Tool search_zoning_documents finished (success)",
    ]
    data = frames[-1]["data"]
    assert (data["tools_available"], data["tools_used"]) == (1, 1)
    assert data["sources"] == [] and data["citations"] == []


@pytest.mark.parametrize(
    ("query_type", "agent", "tools"),
    [
        ("building_codes", "building_codes", 0),
        ("Building Codes", "building_codes", 0),
        (None, "general", 1),
        ("market_trends", "general", 1),
    ],
)
async def test_query_type_routes_to_its_specialist(
    realestate_server: LiveServer, query_type: str | None, agent: str, tools: int
) -> None:
    """query_type picks the specialist; missing or unknown types go to the general agent."""
    extra = {"query_type": query_type} if query_type is not None else {}
    async with websockets.connect(realestate_server.ws) as ws:
        await ws.send(invoke("How many exits does a restaurant need?", **extra))
        frames = await recv_result(ws)
    data = frames[-1]["data"]
    assert (data["agent"], data["tools_available"], data["tools_used"]) == (agent, tools, 0)
    assert data["query_type"] == (query_type or "general").lower().replace(" ", "_")


async def test_unknown_action_goes_to_default_with_a_helpful_error(
    realestate_server: LiveServer,
) -> None:
    """An unknown action gets {type: error, error, timestamp} saying how to invoke."""
    async with websockets.connect(realestate_server.ws) as ws:
        await ws.send(json.dumps({"action": "summon", "question": "?"}))
        error = await recv_json(ws)
        await ws.send(json.dumps({"action": "invoke"}))
        invalid = await recv_json(ws)
    assert error["type"] == "error" and error["code"] == "unknown_action"
    assert '"action": "invoke"' in error["error"] and isinstance(error["timestamp"], float)
    assert invalid["type"] == "error" and "question" in invalid["error"]
    assert isinstance(invalid["timestamp"], float)


PLACEHOLDER = re.compile(r"<[a-z][a-z ]*>|\.\.\.$")
"""Prompt placeholders (``<your answer to the user>``, ``...``) a small model may echo."""


@pytest.mark.slow
async def test_gemma_answer_streams_at_once_in_the_seed_structure() -> None:
    """With Gemma the answer streams right after the search, is real text, and cites real hits."""
    with serve(load_app("realestate"), Settings(model="gemma")) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(invoke(ZONING_Q, query_type="zoning"))
            frames = await recv_result(ws, timeout=120)
    assert frames[0] == {**frames[0], "type": "status", "message": "Processing your query..."}
    types = [f["type"] for f in frames]
    # Engine progress (the model reading its prompt) may come between the search and the answer.
    before = [f for f in frames[: types.index("message_delta")] if f["type"] != "progress"]
    assert before[-1]["message"].startswith("Found "), before[-1]  # no tool step first
    result = frames[-1]
    assert result["type"] == "result", result
    data = result["data"]
    assert data["success"] is True and data["agent"] == "zoning"
    assert data["tools_available"] == 0 and data["tools_used"] == 0
    content = data["content"]
    assert content.strip() and not PLACEHOLDER.search(content), content
    deltas = "".join(f["content"] for f in frames if f["type"] == "message_delta")
    assert content == deltas.strip()
    assert data["sources"] and data["sources"][0]["doc"].startswith("zoning-")
    real = {(s["doc"], s["section"]) for s in data["sources"]}
    assert all((c["doc"], c["section"]) in real for c in data["citations"])
    assert all("timestamp" in f for f in frames)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


def test_messages_flushes_the_previous_message_when_a_new_one_starts() -> None:
    """A chunk of a new message id closes the previous message; blank messages are dropped."""
    messages = Messages()
    assert messages.add(TextMessageChunk(delta=" Let me ", message_id="m1")) == []
    assert messages.add(TextMessageChunk(delta="look.", message_id="m1")) == []
    closed = messages.add(TextMessageChunk(delta="  ", message_id="m2"))
    assert closed == [
        Custom(name="message", value={"role": "assistant", "content": "Let me look."})
    ]
    assert messages.add(TextMessageChunk(delta="Done.", message_id="m3")) == []  # m2 was blank
    assert messages.flush()[0].value["content"] == "Done."  # type: ignore[attr-defined]
    assert messages.answer == "Done." and messages.done == ["Let me look.", "Done."]


def test_an_agent_that_said_nothing_has_an_empty_answer() -> None:
    """With no text at all, flush yields nothing and the answer is empty."""
    messages = Messages()
    assert messages.flush() == [] and messages.answer == ""


def test_status_and_usage_name_the_invoke_shape() -> None:
    """status() is a Custom status line; usage() shows the invoke message with its query types."""
    assert status("hi", agent="zoning") == Custom(
        name="status", value={"message": "hi", "agent": "zoning"}
    )
    assert '"action": "invoke"' in usage() and '"building_codes"' in usage()
