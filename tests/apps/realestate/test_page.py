"""The Real-Estate Agent page in real Chromium: routing, search and tool steps, answer, sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentstream.apps import load_app
from agentstream.gateway.settings import Settings
from tests.apps.pages import in_chromium
from tests.conftest import LiveServer, serve


@pytest.fixture
def live() -> Iterator[LiveServer]:
    """The orchestrator with the scripted model."""
    with serve(load_app("realestate"), Settings(model="scripted:0.01")) as server:
        yield server


def test_zoning_question_shows_steps_answer_agent_and_sources(live: LiveServer) -> None:
    """A zoning question shows its steps, the cited answer, the zoning agent and its sources."""
    in_chromium(lambda context: _ask_zoning(context, live))


def _ask_zoning(context: Any, live: LiveServer) -> None:
    page = context.new_page()
    page.goto(live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#question", "What are the setback requirements for a house in a residential zone?")
    page.select_option("#query-type", "zoning")
    page.click("#send")
    page.wait_for_selector("#result:not([hidden])")
    steps = page.eval_on_selector_all("#timeline li", "els => els.map(e => e.textContent)")
    assert steps[:4] == [
        "Processing your query...",
        "Routing your question to the zoning agent",
        "Searching the Cedar Bay documents...",
        "Found 2 relevant passages",
    ]
    assert not any(s.startswith("Using ") for s in steps)  # the passages were already there
    answer = page.text_content("#answer") or ""
    assert "setback" in answer and "Sources: [1] zoning-residential.md § " in answer
    assert page.text_content("#result .badge") == "zoning agent"
    assert len(page.query_selector_all("#result .sources li")) == 2
