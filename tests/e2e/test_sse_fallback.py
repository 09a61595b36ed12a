"""The CalledIt page with WebSockets blocked: it falls back to SSE, resumes a dropped stream, stops.

A proxy that refuses WebSockets is played by an init script that replaces ``window.WebSocket``
with one that always fails (Playwright's request routing cannot block a WebSocket); the HTTP
traffic goes through a TCP proxy the test can cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import Served
from tests.e2e.proxy import Proxy, proxy_to
from tests.e2e.test_calledit_page import (
    TRANSCRIPT_TEXT,
    make_call,
    shoot,
    transcript,
    user_of,
    wait_finished,
)

BLOCK_WEBSOCKETS = """
window.__wsAttempts = 0;
window.WebSocket = class BlockedWebSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    window.__wsAttempts += 1;
    setTimeout(() => {
      this.readyState = 3;
      this.onerror?.(new Event('error'));
      this.onclose?.({ code: 1006, reason: '' });
    }, 5);
  }
  send() { throw new Error('WebSocket is not open'); }
  close() {}
};
"""


@pytest.fixture
def proxy(calledit: Served) -> Iterator[Proxy]:
    with proxy_to(calledit.live.port) as p:
        yield p


@pytest.fixture
def blocked(context: Any, proxy: Proxy) -> Any:
    """A page whose WebSockets never open, on the proxied server."""
    context.add_init_script(BLOCK_WEBSOCKETS)
    page = context.new_page()
    page.goto(proxy.http + "/")
    page.wait_for_selector("#conn[data-status='fallback']")
    return page


def server_text(served: Served, page: Any, run_id: str) -> str:
    """The run's whole text as the server logged it."""
    run = served.gateway.runs.get(run_id, user_of(page))
    assert run is not None
    return "".join(
        getattr(e, "delta", "") for e in run.log.after(0) if e.type == "TEXT_MESSAGE_CHUNK"
    )


def test_a_call_streams_over_sse_and_the_pill_says_fallback(
    blocked: Any, calledit: Served, screenshots: Path
) -> None:
    """WebSockets blocked: the pill says Fallback mode (SSE) and the call streams to the end."""
    page = blocked
    assert page.locator("#conn-label").inner_text() == "Fallback mode (SSE)"
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    assert page.get_attribute("body", "data-run-state") == "streaming"
    shoot(page, screenshots, "sse-fallback-streaming.png")
    wait_finished(page)
    run_id = page.get_attribute("#run", "data-run-id")
    assert transcript(page) == server_text(calledit, page, run_id)
    assert page.locator("#transcript .tool").count() == 2
    assert page.locator("#card-steps li").count() == 3
    assert page.evaluate("window.__wsAttempts") >= 2
    shoot(page, screenshots, "sse-fallback-finished.png")


def test_a_dropped_sse_stream_resumes_with_no_lost_or_repeated_text(
    blocked: Any, calledit: Served, proxy: Proxy
) -> None:
    """The network cuts the SSE stream mid-run; the browser reconnects with Last-Event-ID."""
    page = blocked
    resumed: list[int] = []

    def seen(request: Any) -> None:
        if "/events" in request.url:
            query = parse_qs(urlparse(request.url).query)
            after = request.all_headers().get("last-event-id") or query.get("lastEventId", ["0"])[0]
            resumed.append(int(after))

    page.on("request", seen)
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 20")
    assert proxy.drop() >= 1
    wait_finished(page)
    run_id = page.get_attribute("#run", "data-run-id")
    assert transcript(page) == server_text(calledit, page, run_id)
    assert resumed[0] == 0 and len(resumed) >= 2 and resumed[-1] > 0, resumed  # reopened after n
    assert page.locator("#conn-label").inner_text() == "Fallback mode (SSE)"


def test_stop_cancels_the_run_over_http(blocked: Any, calledit: Served) -> None:
    """Stop in fallback mode is an HTTP cancel: the run ends cancelled on the server too."""
    page = blocked
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    run_id = page.get_attribute("#run", "data-run-id")
    page.get_by_role("button", name="Stop").click()
    page.wait_for_selector("body[data-run-state='cancelled']")
    run = calledit.gateway.runs.get(run_id, user_of(page))
    assert run is not None and run.state.value == "cancelled"
    assert transcript(page) == server_text(calledit, page, run_id)
    assert "I'll name sources" not in transcript(page)  # it stopped before the end
