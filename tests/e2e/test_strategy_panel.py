"""The Strategy Builder page in Chromium: chat text first, then the panel section by section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentstream.apps import load_app
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, serve

# Records, in order, each first sighting of chat text and each new state of the panel, and
# whether the run was still going (Stop shown) at that moment.
WATCH = """
window.__seen = [];
document.addEventListener('DOMContentLoaded', () => {
  let text = false, panel = '';
  const note = () => {
    const running = !document.querySelector('#stop').hidden;
    const answer = document.querySelector('.msg.assistant');
    if (!text && answer && answer.textContent.trim()) {
      text = true;
      window.__seen.push({what: 'text', running});
    }
    const state = [document.querySelector('#risk').dataset.risk || '',
                   document.querySelectorAll('#flow rect.node').length,
                   document.querySelector('#capital').textContent,
                   document.querySelectorAll('#guardrails li:not(.placeholder)').length].join('|');
    if (state !== panel && state !== '|0|—|0') window.__seen.push({what: 'panel', running, state});
    panel = state;
  };
  new MutationObserver(note).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
});
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """The strategy builder with the scripted model (10 ms per delta) and its own store."""
    settings = Settings(model="scripted:0.01", store=f"sqlite://{tmp_path / 'strategy.db'}")
    with serve(load_app("strategy"), settings) as server:
        yield server


def test_chat_text_shows_first_then_the_panel_fills_in_parts_mid_run(
    context: Any, live: LiveServer, screenshots: Path
) -> None:
    """The answer's text appears before any panel section, and sections land one by one mid-run."""
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#input", "I have $5000 and want a conservative strategy with 3% monthly returns")
    page.press("#input", "Enter")
    page.wait_for_selector("#send:not([hidden])")
    page.screenshot(path=str(screenshots / "strategy.png"), animations="disabled")
    seen: list[dict[str, Any]] = page.evaluate("window.__seen")

    kinds = [s["what"] for s in seen]
    assert kinds[0] == "text", seen
    panel_mid_run = [s for s in seen if s["what"] == "panel" and s["running"]]
    assert len(panel_mid_run) >= 2, seen  # filled in parts, not all at once at the end
    assert page.text_content("#risk") == "Low risk"
    assert len(page.query_selector_all("#flow svg rect.node")) == 4
