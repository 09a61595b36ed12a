"""The Strategy Builder page in real Chromium: chat plus a panel drawn from the backend JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentstream.apps import load_app
from agentstream.gateway.settings import Settings
from tests.apps.pages import in_chromium
from tests.conftest import LiveServer, serve


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
