"""The Strategy Builder page in real Chromium: chat plus a panel drawn from the backend JSON."""

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
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """The strategy builder with the scripted model and its own store."""
    settings = Settings(model="scripted:0.01", store=f"sqlite://{tmp_path / 'strategy.db'}")
    with serve(load_app("strategy"), settings) as server:
        yield server


def test_answer_fills_the_chat_and_the_strategy_panel(live: LiveServer) -> None:
    """The message shows in the chat; flowchart, risk, metrics and guardrails in the panel."""
    in_chromium(lambda context: _fill_chat_and_panel(context, live))


def _fill_chat_and_panel(context: Any, live: LiveServer) -> None:
    page = context.new_page()
    page.goto(live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#input", "I have $5000 and want a conservative strategy with 3% monthly returns")
    page.press("#input", "Enter")
    page.wait_for_selector("#send:not([hidden])")
    assert (page.text_content(".msg.assistant") or "").startswith("I've built a low-risk")
    assert page.text_content("#risk") == "Low risk"
    assert page.text_content("#capital") == "$5,000"
    assert page.text_content("#monthly") == "3%"
    assert len(page.query_selector_all("#flow svg rect.node")) == 4
    assert len(page.query_selector_all("#flow svg line.edge")) == 3
    guardrails = page.eval_on_selector_all("#guardrails li", "els => els.map(e => e.textContent)")
    assert guardrails == ["Stop-loss2%", "Max position size25%"]
    assert page.is_hidden("#notice")

    again = context.new_page()
    again.goto(live.http + "/")
    again.wait_for_selector("#risk[data-risk='Low']")
    assert len(again.query_selector_all(".msg")) == 2
