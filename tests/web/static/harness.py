"""A blank page on a made-up origin that serves the web client's static files from the tree.

The modules are served from disk (``page.route``), so these tests need no server; a fake
WebSocket lets each test play the server's side frame by frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[3] / "src" / "agentstream"
STATIC = SRC / "web" / "static"
# Served at /app/ as the gateway does for an app's own static files.
APPS = {"calledit": SRC / "apps" / "calledit" / "static"}
ORIGIN = "http://agentstream.test"

# Loaded before each test body: the module as `as`, a fake WebSocket the test drives, helpers.
HARNESS = """
const as = await import('/static/agentstream.js');
class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url; this.protocols = protocols;
    this.readyState = 0; this.sent = []; FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code }), 0);
  }
  open() { this.readyState = 1; this.onopen?.({}); }
  receive(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}
const last = () => FakeSocket.all[FakeSocket.all.length - 1];
const until = async (check, what = 'condition') => {
  const deadline = performance.now() + 3000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 2));
  }
};
const client = (options = {}) => new as.AgentStream({
  url: 'ws://agentstream.test/ws', user: 'u1', dialect: 'calledit', WebSocket: FakeSocket,
  backoff: { initialMs: 1, maxMs: 4, jitter: 0 }, heartbeatMs: 0, fallback: false, ...options });
const without = (message, key = 'requestId') => {
  const { [key]: _, ...rest } = message; return rest;
};
"""


def static_page(browser: Any) -> tuple[Any, Any]:
    """A blank page on ``ORIGIN`` whose ``/static/…`` and ``/app/…`` (CalledIt) are the tree."""
    ctx = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")

    def fulfil(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            route.fulfill(
                path=str(STATIC / path.removeprefix("/static/")), content_type="text/javascript"
            )
        elif path.startswith("/app/"):
            route.fulfill(
                path=str(APPS["calledit"] / path.removeprefix("/app/")),
                content_type="text/javascript",
            )
        else:
            route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")

    ctx.route(f"{ORIGIN}/**", fulfil)
    page = ctx.new_page()
    page.goto(ORIGIN + "/")
    return ctx, page


def js(page: Any, body: str) -> Any:
    """Run ``body`` (async JS with the harness in scope) and return its result."""
    return page.evaluate(f"async () => {{ {HARNESS}\n{body} }}")
