"""The Real-Estate Agent page in real Chromium: routing, search and tool steps, answer, sources."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentstream.apps import load_app
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, serve
from tests.e2e.conftest import CHROMIUM_ARGS


def in_chromium(drive: Callable[[Any], None]) -> None:
    """Run ``drive(context)`` in a fresh headless Chromium on a worker thread.

    Playwright's sync API keeps an event loop running on its thread; on the test thread it would
    break every asyncio test that runs after it, so it gets a thread of its own.
    """
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("page tests need Debian's chromium (apt-get install chromium)")

    def work() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    viewport={"width": 1180, "height": 860}, locale="en-GB"
                )
                context.set_default_timeout(15_000)
                drive(context)
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(work).result()


@pytest.fixture
def live() -> Iterator[LiveServer]:
    """The orchestrator with the scripted model."""
    with serve(load_app("realestate"), Settings(model="scripted:0.01")) as server:
        yield server


def test_zoning_question_shows_steps_answer_agent_and_sources(live: LiveServer) -> None:
    """A zoning question shows its steps, the quoted answer, the zoning agent and its sources."""
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
        "Found 3 relevant passages",
    ]
    assert any(s.startswith("Using search_zoning_documents(") for s in steps)
    assert "setback" in (page.text_content("#answer") or "")
    assert page.text_content("#result .badge") == "zoning agent"
    assert len(page.query_selector_all("#result .sources li")) == 3
