"""CalledIt with the real embedded Gemma model through xllamacpp, over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

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
    assert "text" in types and "tool" in types
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    record = PredictionRecord.model_validate(frames[-1]["content"])
    assert record.verification_date == "2025-03-31"


async def test_cancel_stops_gemma_tokens_within_500ms_and_frees_the_model(
    gemma_server: LiveServer,
) -> None:
    """After cancel, text stops within 500 ms, the run ends 'cancelled' and the engine is idle."""
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
        while (frame := await recv_json(ws, 240))["type"] != "text":
            pass
        await ws.send(json.dumps({"action": "cancel", "runId": frame["runId"]}))
        cancelled_at = time.monotonic()
        last_text = cancelled_at
        while True:
            frame = await recv_json(ws, 30)
            if frame["type"] == "text":
                last_text = time.monotonic()
            if frame["type"] == "error":
                break
    assert frame["code"] == "cancelled"
    assert last_text - cancelled_at < 0.5
    model = LocalModel("gemma")
    for _ in range(100):
        if not model.busy:
            break
        await asyncio.sleep(0.01)
    assert not model.busy
