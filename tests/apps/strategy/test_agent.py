"""Strategy builder end to end over a real WebSocket at /ws/chat, in the seed's own format."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import websockets

from agentstream.apps import load_app
from agentstream.apps.strategy import agent as strategy_agent
from agentstream.apps.strategy.agent import last_strategy
from agentstream.apps.strategy.schemas import StrategyJSON
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, recv_json, serve
from tests.identities import as_user

ASK = "I have $5000 and want a conservative strategy with 3% monthly returns"


@contextlib.contextmanager
def strategy_server(store_url: str, model: str = "scripted") -> Iterator[LiveServer]:
    """The strategy app on a real server with its own SQLite store."""
    with serve(load_app("strategy"), Settings(model=model, store=store_url)) as live:
        yield live


def chat_url(live: LiveServer, query: str = "") -> str:
    return f"ws://127.0.0.1:{live.port}/ws/chat{query}"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'strategy.db'}"


async def recv_response(ws: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Frames of one run, up to its ``response`` or run ``error``."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = await recv_json(ws, timeout)
        frames.append(frame)
        if frame["type"] == "response" or (frame["type"] == "error" and frame.get("runId")):
            return frames


def collapse(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


UPDATES = [
    ("account", "add", "/account"),
    ("flowchart", "add", "/flowchart"),
    ("flowchart", "add", "/flowchart/nodes/1"),
    ("flowchart", "add", "/flowchart/nodes/2"),
    ("flowchart", "add", "/flowchart/nodes/3"),
    ("flowchart", "add", "/flowchart/edges"),
    ("flowchart", "add", "/flowchart/edges/1"),
    ("flowchart", "add", "/flowchart/edges/2"),
    ("flowchart", "replace", "/flowchart"),
    ("degen_class", "add", "/degen_class"),
    ("strategy_metrics", "add", "/strategy_metrics"),
    ("guardrails", "add", "/guardrails"),
    ("guardrails", "add", "/guardrails/enabled/1"),
    ("guardrails", "replace", "/guardrails"),
]
"""The scripted answer's strategy_update frames: (section, op, path), in order."""


async def test_chat_streams_message_then_strategy_items_and_parts_then_response(
    store_url: str,
) -> None:
    """A seed message streams user text, then updates item by item and per part, then the end."""
    with strategy_server(store_url) as live:
        async with websockets.connect(chat_url(live)) as ws:
            await ws.send(json.dumps({"message": ASK}))
            frames = await recv_response(ws)
    assert collapse([f["type"] for f in frames]) == [
        "start",
        "user_message_chunk",
        "strategy_update",
        "strategy",
        "response",
    ]
    updates = [f for f in frames if f["type"] == "strategy_update"]
    assert all(len(u["patch"]) == 1 for u in updates)
    assert [(u["section"], u["patch"][0]["op"], u["patch"][0]["path"]) for u in updates] == UPDATES
    # ``data`` is the whole section, for top-level patches only.
    assert ["data" in u for u in updates] == [p.count("/") == 1 for _, _, p in UPDATES]
    by_path = {u["patch"][0]["path"]: u for u in updates}
    assert by_path["/degen_class"]["data"] == {"selected": "Low"}
    assert by_path["/strategy_metrics"]["data"] == {
        "impact_monthly_return_delta_pct": 3.0,
        "estimated_capital_required_usd": 5000.0,
    }
    response = frames[-1]
    assert set(response) == {"type", "user_message", "strategy_json", "runId", "seq"}
    text = "".join(f["content"] for f in frames if f["type"] == "user_message_chunk")
    assert response["user_message"] == text
    assert text.startswith("I've built a low-risk strategy for your $5,000")
    StrategyJSON.model_validate(response["strategy_json"])
    assert frames[-2]["strategy_json"] == response["strategy_json"]
    state: dict[str, Any] = {}
    for update in updates:
        state = jsonpatch.apply_patch(state, update["patch"])
    assert state == response["strategy_json"]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_malformed_backend_yields_an_error_and_keeps_the_last_strategy(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a good turn, a broken <backend> gives strategy_error and the old strategy."""
    with strategy_server(store_url) as live:
        async with websockets.connect(chat_url(live)) as ws:
            await ws.send(json.dumps({"action": "chat", "message": ASK}))
            good = (await recv_response(ws))[-1]["strategy_json"]
            broken = [
                [
                    {
                        "text": "<user_message>Raised the target.</user_message>\n"
                        '<backend>{"degen_class": {"selected": "High"}, '
                        '"flowchart": {"nodes": [</backend>'
                    }
                ]
            ]
            monkeypatch.setattr(strategy_agent, "scripted_turns", lambda last: broken)
            await ws.send(json.dumps({"action": "chat", "message": "Make it 10% a month"}))
            frames = await recv_response(ws)
            monkeypatch.undo()
            await ws.send(json.dumps({"action": "chat", "message": "Fine, 4% then"}))
            after = (await recv_response(ws))[-1]
    types = [f["type"] for f in frames]
    assert collapse(types) == [
        "start",
        "user_message_chunk",
        "strategy_update",
        "strategy_error",
        "strategy",
        "response",
    ]
    error = frames[types.index("strategy_error")]
    assert error["code"] == "invalid_json" and "not valid JSON" in error["message"]
    assert frames[-2]["strategy_json"] == good
    assert (
        frames[-1]["strategy_json"] == good and frames[-1]["user_message"] == "Raised the target."
    )
    assert "error" in frames[-1]
    # The next turn starts from the last good strategy: its capital is still $5,000.
    assert after["strategy_json"]["strategy_metrics"] == {
        "impact_monthly_return_delta_pct": 4.0,
        "estimated_capital_required_usd": 5000.0,
    }


async def test_seed_messages_payload_and_bad_requests(store_url: str) -> None:
    """{messages: [...]} is accepted; an empty message gets an error frame naming it."""
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "I have 2k dollars, aggressive please"},
    ]
    with strategy_server(store_url) as live:
        async with websockets.connect(chat_url(live)) as ws:
            await ws.send(json.dumps({"messages": history}))
            response = (await recv_response(ws))[-1]
            await ws.send(json.dumps({"message": "   "}))
            error = await recv_json(ws)
    assert response["strategy_json"]["degen_class"] == {"selected": "High"}
    assert response["strategy_json"]["strategy_metrics"]["estimated_capital_required_usd"] == 2000
    assert error["type"] == "error" and error["code"] == "invalid_request"
    assert "message" in error["message"]


@pytest.mark.slow
async def test_gemma_answer_streams_the_message_first_then_a_valid_strategy(
    store_url: str,
) -> None:
    """With the embedded Gemma model the first content is chat text, and the strategy validates."""
    with strategy_server(store_url, model="gemma") as live:
        async with websockets.connect(chat_url(live)) as ws:
            await ws.send(json.dumps({"message": ASK}))
            frames = await recv_response(ws, timeout=120)
    types = [f["type"] for f in frames]
    content = [f for f in frames if f["type"] in ("user_message_chunk", "strategy_update")]
    assert content and content[0]["type"] == "user_message_chunk", types
    assert types.count("user_message_chunk") >= 2  # streamed token by token, not in one piece
    assert types[0] == "start" and types[-2:] == ["strategy", "response"]
    response = frames[-1]
    text = "".join(f["content"] for f in frames if f["type"] == "user_message_chunk")
    assert response["user_message"] == text and text.strip()
    assert "strategy_error" not in types and "error" not in response, response
    StrategyJSON.model_validate(response["strategy_json"])
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_cancel_stops_the_answer_and_saves_nothing(store_url: str) -> None:
    """cancel mid-answer ends the run with a cancelled error; the thread stays empty."""
    with serve(load_app("strategy"), Settings(model="scripted:0.05", store=store_url)) as live:
        async with websockets.connect(chat_url(live)) as ws:
            await ws.send(json.dumps({"message": ASK}))
            first = await recv_json(ws)
            await recv_json(ws)  # the first chunk: the model is streaming
            await ws.send(json.dumps({"action": "cancel", "runId": first["runId"]}))
            frames = [await recv_json(ws)]
            while not (frames[-1]["type"] == "error" and frames[-1].get("runId")):
                frames.append(await recv_json(ws))
            await ws.send(json.dumps({"action": "history"}))
            stored = await recv_json(ws)
    assert frames[-1]["code"] == "cancelled"
    assert "response" not in [f["type"] for f in frames]
    assert stored["type"] == "history_result" and stored["messages"] == []


def test_last_strategy_is_the_newest_assistant_turn_that_validated() -> None:
    """Newest first; user turns and assistant turns without a strategy are skipped."""
    turns: list[dict[str, Any]] = [
        {"role": "assistant", "strategy_json": {"n": 1}},
        {"role": "assistant", "strategy_json": {"n": 2}},
        {"role": "assistant", "strategy_json": None},
        {"role": "user", "strategy_json": {"n": 3}},
    ]
    assert last_strategy(turns) == {"n": 2}
    assert last_strategy([]) is None


async def test_another_identitys_chat_reads_like_an_empty_one(store_url: str) -> None:
    """Mallory asking for Alice's conversation id gets what a random id gets: an empty chat."""
    with strategy_server(store_url) as live:
        alice = as_user(live, "alice")
        async with websockets.connect(chat_url(live), additional_headers=alice) as ws:
            await ws.send(json.dumps({"message": ASK, "conversationId": "c1"}))
            await recv_response(ws)
            await ws.send(json.dumps({"action": "history", "conversationId": "c1"}))
            own = await recv_json(ws)
        mallory = as_user(live, "mallory")
        async with websockets.connect(chat_url(live), additional_headers=mallory) as ws:
            answers = []
            for conversation in ("c1", "never-used"):
                await ws.send(json.dumps({"action": "history", "conversationId": conversation}))
                answers.append(await recv_json(ws) | {"conversationId": "<id>"})
    assert len(own["messages"]) == 2 and own["strategy_json"] is not None
    assert answers[0] == answers[1] and answers[0]["messages"] == []
