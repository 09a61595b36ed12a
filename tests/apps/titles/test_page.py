"""The Title Generator page in real Chromium: progress, streaming, and a thread shared by tabs."""

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
    """Titles with a slowed scripted model, so the middle of a run can be seen."""
    settings = Settings(model="scripted:0.03", store=f"sqlite://{tmp_path / 'titles.db'}")
    with serve(load_app("titles"), settings) as server:
        yield server


def open_page(context: Any, live: LiveServer) -> Any:
    page = context.new_page()
    page.goto(live.http + "/")
    page.wait_for_selector("#conn[data-status='live']")
    return page


def test_progress_then_streamed_titles_then_the_thread_in_a_second_tab(live: LiveServer) -> None:
    """Stages and a streaming indicator show, the titles land, and another tab sees the thread."""
    in_chromium(lambda context: _progress_titles_and_second_tab(context, live))


def _progress_titles_and_second_tab(context: Any, live: LiveServer) -> None:
    page = open_page(context, live)
    assert page.text_content("#conn-label") == "Real-time streaming connected"
    page.fill("#input", "A blog post about night photography")
    page.press("#input", "Enter")
    # The progress display gives way to the text at the first chunk; it stays in the page (hidden)
    # until the run ends, so its last state can still be read.
    page.wait_for_selector(
        ".stages li[data-stage='generating'][data-state='current']", state="attached"
    )
    assert page.text_content(".progress-step") == "Generating titles..."
    states = page.eval_on_selector_all(".stages li", "els => els.map(e => e.dataset.state)")
    assert states == ["done", "done", "current", "todo"]
    page.wait_for_selector(".streaming:not([hidden])")
    page.wait_for_selector("#send:not([hidden])")
    answer = page.text_content(".msg.assistant .body") or ""
    assert answer.startswith("1. Night Photography: The Complete Guide")
    assert page.query_selector(".progress") is None and page.query_selector(".streaming") is None

    other = open_page(context, live)
    other.wait_for_selector(".msg.assistant")
    texts = other.eval_on_selector_all(".msg", "els => els.map(e => e.textContent)")
    assert texts == ["A blog post about night photography", answer]
