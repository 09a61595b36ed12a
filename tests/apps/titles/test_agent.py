"""Title generator chat end to end over a real WebSocket, in the seed's own wire format."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from agentstream.apps import load_app
from agentstream.apps.titles import agent as titles_agent
from agentstream.apps.titles.agent import STAGES, progress, project_thread
from agentstream.gateway.settings import Settings
from agentstream.models.scripted import ScriptedModel
from agentstream.protocol.events import Custom
from tests.conftest import LiveServer, recv_json, serve
from tests.identities import as_user

TERMINAL = ("stream_complete", "error")


async def recv_titles_run(ws: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Frames of one run, up to its ``stream_complete`` or run ``error``."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = await recv_json(ws, timeout)
        frames.append(frame)
        if frame["type"] in TERMINAL and frame.get("runId"):
            return frames


def stream(project: str, text: str, **extra: Any) -> str:
    return json.dumps({"action": "stream", "projectId": project, "userInput": text, **extra})


@contextlib.contextmanager
def titles_server(store_url: str, model: str = "scripted") -> Iterator[LiveServer]:
    """The titles app on a real server with its own SQLite store."""
    with serve(load_app("titles"), Settings(model=model, store=store_url)) as live:
        yield live


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'titles.db'}"


def collapse(types: list[str]) -> list[str]:
    """Frame types with runs of the same type folded into one."""
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


async def test_stream_sends_progress_chunks_and_complete_exactly(store_url: str) -> None:
    """stream: start, 3 progress stages, chunks, finalizing, stream_complete; seq 1..n."""
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("p1", "A blog post about sourdough starters", requestId="r1"))
            frames = await recv_titles_run(ws)
    assert collapse([f["type"] for f in frames]) == [
        "stream_start",
        "progress",
        "stream_chunk",
        "progress",
        "stream_complete",
    ]
    assert frames[0] == {
        "type": "stream_start",
        "sessionId": "p1",
        "requestId": "r1",
        "runId": frames[0]["runId"],
        "seq": 1,
    }
    shown = [f for f in frames if f["type"] == "progress"]
    assert [(p["stage"], p["progress"]) for p in shown] == [
        ("initializing", 10),
        ("analyzing", 30),
        ("generating", 50),
        ("finalizing", 90),
    ]
    assert shown[1]["step"] == "Analyzing the conversation (0 earlier messages)..."
    assert all(isinstance(p["step"], str) and p["step"] for p in shown)
    chunks = [f for f in frames if f["type"] == "stream_chunk"]
    assert len(chunks) > 5
    assert all(set(c) == {"type", "content", "sessionId", "runId", "seq"} for c in chunks)
    assert {c["sessionId"] for c in chunks} == {"p1"}
    done = frames[-1]
    assert set(done) == {"type", "fullContent", "sessionId", "runId", "seq"}
    assert done["fullContent"] == "".join(c["content"] for c in chunks).strip()
    assert done["fullContent"].startswith("1. Sourdough Starters: The Complete Guide")
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_second_turn_prompt_includes_the_first_turn(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's second call sees the first user input and the first answer."""
    seen: list[list[dict[str, Any]]] = []
    real = titles_agent.scripted_turns

    def recording() -> list[Any]:
        (turn,) = real()

        def spy(messages: list[dict[str, Any]], *args: Any) -> Any:
            seen.append(json.loads(json.dumps(messages)))
            return turn(messages, *args)

        return [spy]

    monkeypatch.setattr(titles_agent, "scripted_turns", recording)
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("p2", "A talk about urban beekeeping"))
            first = (await recv_titles_run(ws))[-1]["fullContent"]
            await ws.send(stream("p2", "Make them shorter"))
            second = await recv_titles_run(ws)
    texts = [(m["role"], m["content"][0]["text"]) for m in seen[1]]
    assert texts == [
        ("user", "A talk about urban beekeeping"),
        ("assistant", first),
        ("user", "Make them shorter"),
    ]
    assert "Building on your first request (Urban Beekeeping)" in second[-1]["fullContent"]
    assert any(
        f.get("step") == "Analyzing the conversation (2 earlier messages)..." for f in second
    )


async def test_history_survives_a_restart_and_is_shared_by_tabs(store_url: str) -> None:
    """After a restart a second socket reads the thread and continues it."""
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "ann")) as ws:
            await ws.send(stream("novel", "A mystery novel set in a lighthouse"))
            await recv_titles_run(ws)
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws, additional_headers=as_user(live, "ann")) as tab:
            await tab.send(
                json.dumps({"action": "history", "projectId": "novel", "requestId": "h1"})
            )
            reply = await recv_json(tab)
            await tab.send(stream("novel", "Something darker"))
            frames = await recv_titles_run(tab)
        async with websockets.connect(live.ws, additional_headers=as_user(live, "bob")) as other:
            await other.send(json.dumps({"action": "history", "projectId": "novel"}))
            stranger = await recv_json(other)
    assert reply["type"] == "history_result" and reply["requestId"] == "h1"
    assert [m["role"] for m in reply["messages"]] == ["user", "assistant"]
    assert reply["messages"][0]["content"] == "A mystery novel set in a lighthouse"
    assert "1 earlier turn(s)" in frames[-1]["fullContent"]
    assert stranger["messages"] == []


async def test_client_history_is_used_when_the_store_has_none(store_url: str) -> None:
    """A seed client's chat_history feeds the model when the project has no stored thread."""
    history = [
        {"role": "user", "content": "Podcast about chess openings"},
        {"role": "assistant", "content": "1. Opening Moves"},
    ]
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("fresh", "More like the first", chat_history=history))
            frames = await recv_titles_run(ws)
    assert frames[-1]["fullContent"].startswith("1. Chess Openings")
    assert any("(2 earlier messages)" in str(f.get("step")) for f in frames)


@pytest.mark.parametrize(
    ("message", "mentions"),
    [
        ({"action": "stream", "userInput": "x"}, "projectId"),
        ({"action": "stream", "projectId": "p", "userInput": ""}, "userInput"),
        ({"action": "stream", "projectId": "bad id!", "userInput": "x"}, "projectId"),
    ],
)
async def test_bad_requests_get_a_seed_error_frame(
    store_url: str, message: dict[str, Any], mentions: str
) -> None:
    """An invalid stream request gets {type: error, message} naming the field."""
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(json.dumps(message))
            error = await recv_json(ws)
    assert error["type"] == "error" and error["code"] == "invalid_request"
    assert mentions in error["message"]


@pytest.mark.slow
async def test_gemma_streams_titles_in_the_seed_format(store_url: str) -> None:
    """With the embedded Gemma model the frames keep the seed's structure."""
    with titles_server(store_url, model="gemma") as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("g1", "A blog post about night photography"))
            frames = await recv_titles_run(ws, timeout=60)
    types = [f["type"] for f in frames]
    assert types[0] == "stream_start" and types[-1] == "stream_complete"
    shown = [f for f in frames if f["type"] == "progress"]
    # The engine's prompt counts arrive as more "generating" frames (50..80 %), never a new stage.
    assert collapse([p["stage"] for p in shown]) == [
        "initializing",
        "analyzing",
        "generating",
        "finalizing",
    ]
    reading = [p for p in shown if "processed" in p]
    assert all(p["stage"] == "generating" and 50 <= p["progress"] <= 80 for p in reading)
    assert all(0 <= p["processed"] <= p["total"] for p in reading)
    chunks = [f["content"] for f in frames if f["type"] == "stream_chunk"]
    assert chunks and frames[-1]["fullContent"] == "".join(chunks).strip()
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_without_a_store_history_is_kept_in_memory() -> None:
    """With --store none the thread lives in memory: turn two still sees turn one."""
    with serve(load_app("titles"), Settings(model="scripted", store="none")) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("mem", "A zine about bicycles"))
            await recv_titles_run(ws)
            await ws.send(stream("mem", "Shorter please"))
            frames = await recv_titles_run(ws)
    assert "1 earlier turn(s)" in frames[-1]["fullContent"]


def test_progress_names_the_stage_its_percent_and_a_default_step() -> None:
    """Each stage carries its own percent; a given step replaces the stage's label."""
    assert progress("analyzing") == Custom(
        name="progress",
        value={"stage": "analyzing", "step": "Analyzing the conversation...", "progress": 30},
    )
    assert progress("generating", "now").value["step"] == "now"  # type: ignore[index]
    assert [p for p, _ in STAGES.values()] == sorted(p for p, _ in STAGES.values())


def test_each_user_and_project_has_its_own_thread() -> None:
    """Threads differ by user and by project, and live under the titles app."""
    threads = {project_thread(u, p) for u in ("ann", "bob") for p in ("p1", "p2")}
    assert len(threads) == 4 and all(t.startswith("titles/") for t in threads)
    assert project_thread("ann", "p1") == project_thread("ann", "p1")


class ReadingModel(ScriptedModel):
    """The scripted model, reporting prompt reading first as the local engine does."""

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[dict[str, Any], None]:  # type: ignore[override]
        for processed in (256, 480):
            yield {"promptProgress": {"processed": processed, "total": 480, "cached": 128}}
        async for chunk in super().stream(*args, **kwargs):
            yield chunk


async def test_engine_prompt_progress_shows_inside_the_generating_stage(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's prompt counts reach the seed client as generating-stage progress, in order."""

    def reading(ctx: Any, *, scripted: Any = None, **_: Any) -> ScriptedModel:
        return ReadingModel(scripted())

    monkeypatch.setattr(titles_agent, "agent_model", reading)
    with titles_server(store_url) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(stream("p9", "A podcast about tide pools"))
            frames = await recv_titles_run(ws)
    shown = [f for f in frames if f["type"] == "progress"]
    assert [(p["stage"], p["progress"]) for p in shown] == [
        ("initializing", 10),
        ("analyzing", 30),
        ("generating", 50),
        ("generating", 66),
        ("generating", 80),
        ("finalizing", 90),
    ]
    assert shown[3]["step"] == "Reading the prompt: 256/480 tokens (128 from cache)..."
    assert (shown[4]["processed"], shown[4]["total"]) == (480, 480)
    first_chunk = next(i for i, f in enumerate(frames) if f["type"] == "stream_chunk")
    assert frames.index(shown[4]) < first_chunk
