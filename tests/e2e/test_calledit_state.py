"""The CalledIt card fills from partial state before the run's `complete`, in real Chromium.

A test-only app streams what issue 17's CalledIt streams — engine progress, a tool, a state
snapshot and JSON Patch deltas — in the ``calledit`` dialect behind the real CalledIt page, and
holds the run open at a gate the test releases, so "before complete" needs no timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agentstream.gateway.context import RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import (
    Custom,
    Event,
    RunFinished,
    StateDelta,
    StateSnapshot,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)
from tests.e2e.conftest import ROOT, Served, serve_app

PARTIAL_STATEMENT = "Bitcoin will close above $150,000"
FINAL = {
    "prediction_statement": "Bitcoin will close above $150,000 on 31 March 2027.",
    "verification_date": "2027-03-31",
    "verification_method": {
        "source": ["CoinMarketCap daily close"],
        "criteria": ["BTC-USD daily close on 2027-03-31 is above $150,000"],
        "steps": ["Read the 2027-03-31 close"],
    },
    "initial_status": "pending",
}


class Gates:
    """Points where the stand-in run waits until the test opens them (from its own thread)."""

    def __init__(self) -> None:
        self.partial_shown = threading.Event()
        self.prompt_read = threading.Event()

    async def wait(self, gate: threading.Event) -> None:
        """Wait for ``gate`` without blocking the server's loop."""
        if not await asyncio.to_thread(gate.wait, 30):
            raise TimeoutError("the test never opened the gate")


def streaming_calledit(gates: Gates) -> AgentApp:
    """CalledIt's page over a makecall that streams progress, a tool, and partial state."""
    from agentstream.apps.calledit.schemas import MakeCall

    static = ROOT / "src" / "agentstream" / "apps" / "calledit" / "static"
    app = AgentApp(name="calledit", title="CalledIt", dialect="calledit", static_dir=static)

    @app.run("makecall", MakeCall)
    async def make_call(request: MakeCall, ctx: RouteContext) -> AsyncIterator[Event]:
        yield Custom(
            name="progress",
            value={"stage": "prompt", "processed": 256, "total": 1024, "cached": 128},
        )
        await gates.wait(gates.prompt_read)
        yield TextMessageChunk(delta="Checking the deadline. ")
        yield ToolCallChunk(
            tool_call_id="t1",
            tool_call_name="parse_relative_date",
            delta='{"text": "end of March"}',
        )
        yield ToolCallResult(
            tool_call_id="t1",
            tool_call_name="parse_relative_date",
            content='{"date": "2027-03-31"}',
        )
        yield StateSnapshot(snapshot={"prediction_statement": "Bitcoin will"})
        yield StateDelta(
            delta=[
                {"op": "replace", "path": "/prediction_statement", "value": PARTIAL_STATEMENT},
                {"op": "add", "path": "/verification_method", "value": {"source": []}},
                {"op": "add", "path": "/verification_method/source/-", "value": "CoinMarketCap"},
            ]
        )
        await gates.wait(gates.partial_shown)
        yield RunFinished(result=FINAL)

    return app


@pytest.fixture
def gated() -> Iterator[tuple[Served, Gates]]:
    """A server whose runs wait at the test's gates."""
    gates = Gates()
    with serve_app(streaming_calledit(gates), Settings(model="scripted", store="none")) as s:
        yield s, gates
    gates.prompt_read.set()
    gates.partial_shown.set()


def test_the_card_shows_partial_fields_before_complete_and_complete_wins(
    page: Any, gated: tuple[Served, Gates], screenshots: Any
) -> None:
    """Statement and a source appear from state frames mid-run; the final record replaces them."""
    served, gates = gated
    page.goto(served.live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#prompt", "Bitcoin will close above $150,000 by the end of March")
    page.press("#prompt", "Enter")

    page.wait_for_selector("#progress-detail:has-text('256 / 1,024 prompt tokens')")
    assert page.text_content("#progress-detail") == "256 / 1,024 prompt tokens, 128 cached"
    assert page.text_content("#progress-text") == "Reading your call…"
    gates.prompt_read.set()

    page.wait_for_function(
        f"document.querySelector('#card-statement').textContent === {PARTIAL_STATEMENT!r}"
    )
    # Still mid-run: the server is holding `complete` at the gate.
    assert page.get_attribute("body", "data-run-state") == "streaming"
    assert page.get_attribute("#card", "aria-busy") == "true"
    assert page.text_content("#card-sources") == "CoinMarketCap"
    assert page.text_content("#card-date") == "Wed, 31 Mar 2027"
    chip = page.query_selector("#transcript .tool[data-tool='parse_relative_date']")
    assert chip is not None and chip.get_attribute("data-status") == "success"
    page.screenshot(path=str(screenshots / "state-partial.png"), animations="disabled")

    gates.partial_shown.set()
    page.wait_for_selector("#card[aria-busy='false']")
    assert page.text_content("#card-statement") == FINAL["prediction_statement"]
    assert page.text_content("#card-sources") == "CoinMarketCap daily close"
    assert page.text_content("#card-badge") == "Pending"
