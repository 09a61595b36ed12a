"""Identity in a real browser: the page cookie rides the upgrade; a token rides the subprotocol."""

from __future__ import annotations

from typing import Any

from agentstream.gateway.settings import Settings
from tests.conftest import serve
from tests.gateway.test_auth import SECRET, token
from tests.gateway.test_http import echo_app
from tests.identities import user_in_cookie

# Open a socket (optionally offering protocols), run echo, and report what the server said.
ECHO = """async ([url, protocols]) => {
  const ws = protocols ? new WebSocket(url, protocols) : new WebSocket(url);
  return await new Promise((resolve) => {
    ws.onopen = () => ws.send(JSON.stringify({action: "echo", text: "hi"}));
    ws.onmessage = (m) => {
      const frame = JSON.parse(m.data);
      if (frame.type === "complete") resolve({protocol: ws.protocol, user: frame.content.user});
    };
    ws.onclose = (e) => resolve({closed: e.code});
  });
}"""


def test_the_page_cookie_makes_the_socket_the_same_user(page: Any) -> None:
    """Auth off: GET / sets the HttpOnly cookie; the browser's socket runs as that user."""
    with serve(echo_app(), Settings(model="scripted", store="none")) as live:
        page.goto(f"{live.http}/")
        assert page.evaluate("() => document.cookie") == ""  # HttpOnly: scripts cannot read it
        answer = page.evaluate(ECHO, [f"ws://127.0.0.1:{live.port}/ws", None])
        user = user_in_cookie(page.context.cookies())
    assert answer["user"] == user and user.startswith("anon-")


def test_a_token_in_the_subprotocol_connects_and_a_missing_one_does_not(page: Any) -> None:
    """Auth on: ["agentstream.bearer", jwt] connects as the subject (echoed protocol accepted)."""
    settings = Settings(model="scripted", store="none", auth="jwt", jwt_secret=SECRET)
    with serve(echo_app(), settings) as live:
        page.goto(f"{live.http}/")
        url = f"ws://127.0.0.1:{live.port}/ws"
        answer = page.evaluate(ECHO, [url, ["agentstream.bearer", token("dora", aud=None)]])
        refused = page.evaluate(ECHO, [url, None])
    assert answer == {"protocol": "agentstream.bearer", "user": "dora"}
    assert refused == {"closed": 1006}  # the upgrade was answered 401
