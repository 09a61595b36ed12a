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


WATCH_FLOW = """() => {
  window.__seen = [];
  new MutationObserver(() => {
    const nodes = document.querySelectorAll("#flow svg rect.node").length;
    const chat = document.querySelector(".msg.assistant")?.textContent ?? "";
    const last = window.__seen[window.__seen.length - 1];
    if (!last || last[0] !== nodes) window.__seen.push([nodes, chat.length]);
  }).observe(document.querySelector("#flow"), {childList: true, subtree: true});
}"""
"""Records each new count of flowchart boxes, with how much chat text was showing then."""


def test_answer_fills_the_chat_then_the_panel_node_by_node(live: LiveServer) -> None:
    """The message shows first; the flowchart grows box by box; risk, metrics, guardrails fill."""
    in_chromium(lambda context: _fill_chat_and_panel(context, live))


def _fill_chat_and_panel(context: Any, live: LiveServer) -> None:
    page = context.new_page()
    page.goto(live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.evaluate(WATCH_FLOW)
    page.fill("#input", "I have $5000 and want a conservative strategy with 3% monthly returns")
    page.press("#input", "Enter")
    page.wait_for_selector("#send:not([hidden])")
    assert (page.text_content(".msg.assistant") or "").startswith("I've built a low-risk")
    assert page.text_content("#risk") == "Low risk"
    assert page.text_content("#capital") == "$5,000"
    assert page.text_content("#monthly") == "3%"
    assert len(page.query_selector_all("#flow svg rect.node")) == 4
    assert len(page.query_selector_all("#flow svg line.edge")) == 3
    seen = page.evaluate("window.__seen")
    assert [nodes for nodes, _ in seen if nodes] == [1, 2, 3, 4], seen
    assert all(chat > 0 for nodes, chat in seen if nodes)  # the message came before any box
    guardrails = page.eval_on_selector_all("#guardrails li", "els => els.map(e => e.textContent)")
    assert guardrails == ["Stop-loss2%", "Max position size25%"]
    assert page.is_hidden("#notice")

    again = context.new_page()
    again.goto(live.http + "/")
    again.wait_for_selector("#risk[data-risk='Low']")
    assert len(again.query_selector_all(".msg")) == 2
