"""CalledIt with the real embedded Gemma model through xllamacpp, over a real WebSocket."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonpatch
import pytest
import websockets

from agentstream.apps import load_app
from agentstream.apps.calledit.schemas import PredictionRecord
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, recv_json, recv_run, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_server() -> Iterator[LiveServer]:
    pytest.importorskip("xllamacpp")
    with serve(load_app("calledit"), Settings(model="gemma", detach_grace_s=5)) as live:
        yield live


async def test_makecall_with_gemma_gives_a_schema_valid_record(
    gemma_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A makecall on the real Gemma model streams text and tools and ends with a valid record."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    async with websockets.connect(gemma_server.ws) as ws:
        await ws.send(
            json.dumps(
                {
                    "action": "makecall",
                    "timezone": "America/New_York",
                    "prompt": "The S&P 500 will reach 6000 points by March 2025",
                }
            )
        )
        frames = await recv_run(ws, timeout=240)
    types = [f["type"] for f in frames]
    assert types[-1] == "complete", frames[-1]
    assert "text" in types
    assert [f["name"] for f in frames if f["type"] == "tool"] == [
        "current_time",
        "parse_relative_date",
    ]
    assert types.count("tool_result") == 2
    assert "state" in types and types.index("state") < types.index("complete")
    assert types.index("tool_result") < types.index("state")
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    record = PredictionRecord.model_validate(frames[-1]["content"])
    assert record.verification_date == "2025-03-31"
    assert partial_state(frames) == frames[-1]["content"]


def partial_state(frames: list[dict[str, Any]]) -> Any:
    """The record a client builds from the ``state`` and ``state_delta`` frames alone."""
    state: Any = None
    for frame in frames:
        if frame["type"] == "state":
            state = copy.deepcopy(frame["snapshot"])
        elif frame["type"] == "state_delta":
            state = jsonpatch.apply_patch(state, frame["delta"])
    return state


async def test_cancel_stops_gemma_text_and_frees_the_model(gemma_server: LiveServer) -> None:
    """After the cancel answer no text frame follows, the run ends 'cancelled', the engine idles.

    Counted, not timed (the machine is shared): the run publishes nothing once cancelled.
    """
    from agentstream.models.local import LocalModel

    async with websockets.connect(gemma_server.ws) as ws:
        await ws.send(
            json.dumps(
                {
                    "action": "makecall",
                    "prompt": "Bitcoin will trade above "
                    "$100,000 before the end of 2026, driven by ETF inflows",
                }
            )
        )
        while (frame := await recv_json(ws, 240))["type"] not in ("text", "state_delta"):
            pass
        await ws.send(json.dumps({"action": "cancel", "runId": frame["runId"]}))
        answered, after_answer = False, 0
        while True:
            frame = await recv_json(ws, 60)
            if frame["type"] == "cancel":
                answered = True
            elif answered and frame["type"] in ("text", "state", "state_delta", "tool"):
                after_answer += 1
            if frame["type"] == "error":
                break
    assert frame["code"] == "cancelled"
    assert answered and after_answer == 0
    model = LocalModel("gemma")
    for _ in range(6000):  # a generous bound: only a hung engine fails it
        if not model.busy:
            break
        await asyncio.sleep(0.01)
    assert not model.busy
