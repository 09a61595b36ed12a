"""Identity on the wire: the page's cookie, forged cookies refused, tokens kept out of logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import websockets
from starlette.requests import HTTPConnection
from websockets.exceptions import InvalidStatus

from agentstream.gateway.credentials import COOKIE, RedactTokens, credentials_of, redact
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, recv_run, serve
from tests.gateway.test_http import echo_app
from tests.identities import as_user


@pytest.fixture
def live() -> Iterator[LiveServer]:
    with serve(echo_app(), Settings(model="scripted", store="none")) as server:
        yield server


def test_credentials_are_read_from_cookie_header_subprotocols_and_query() -> None:
    """Each place a client may put credentials is read; nothing else (no ?user=, no X-User)."""
    headers = [
        (b"cookie", f"a=b; {COOKIE}=v1".encode()),
        (b"authorization", b"Bearer t1"),
        (b"sec-websocket-protocol", b"calledit, agentstream.bearer, t2"),
        (b"x-user", b"mallory"),
    ]
    scope = {"type": "websocket", "headers": headers, "query_string": b"token=t3&user=m"}
    got = credentials_of(HTTPConnection(scope))
    assert (got.cookie, got.bearer, got.query_token) == ("v1", "t1", "t3")
    assert list(got.subprotocols) == ["calledit", "agentstream.bearer", "t2"]
    scope = {"type": "http", "headers": [(b"authorization", b"Basic x")], "query_string": b""}
    basic = credentials_of(HTTPConnection(scope))
    assert basic.bearer is None and basic.cookie is None


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"cookie", b"a=1"), (b"cookie", f"{COOKIE}=v2; b=2".encode())],
        [(b"cookie", f"{COOKIE}=old".encode()), (b"cookie", f"{COOKIE}=new".encode())],
        [(b"authorization", b"Bearer first"), (b"authorization", b"Bearer second")],
        [(b"sec-websocket-protocol", b" x , ,y"), (b"sec-websocket-protocol", b"z")],
        [(b"authorization", b"bearer  spaced ")],
    ],
)
def test_credentials_read_headers_as_starlette_does(headers: list[tuple[bytes, bytes]]) -> None:
    """Repeated, split and missing headers give what Starlette's own Headers and cookies give."""
    conn = HTTPConnection({"type": "websocket", "headers": headers, "query_string": b""})
    got = credentials_of(conn)
    reference = HTTPConnection({"type": "websocket", "headers": headers, "query_string": b""})
    scheme, _, bearer = reference.headers.get("authorization", "").partition(" ")
    offered = reference.headers.get("sec-websocket-protocol", "")
    assert got.cookie == reference.cookies.get(COOKIE)
    assert got.bearer == (bearer.strip() or None if scheme.lower() == "bearer" else None)
    assert list(got.subprotocols) == [p.strip() for p in offered.split(",") if p.strip()]


async def test_the_page_sets_an_httponly_samesite_cookie_that_sockets_accept(
    live: LiveServer,
) -> None:
    """GET / sets agentstream_id (HttpOnly, SameSite=Lax, Path=/); a socket with it is that user."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        page = await client.get("/")
        again = await client.get("/")
        whoami = await client.post("/api/invoke", json={"action": "whoami", "text": "x"})
    set_cookie = page.headers["set-cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in set_cookie
    assert "set-cookie" not in again.headers  # kept, not replaced
    value = page.cookies[COOKIE]
    headers = {"Cookie": f"{COOKIE}={value}"}
    async with websockets.connect(live.ws, additional_headers=headers) as ws:
        await ws.send(json.dumps({"action": "echo", "text": "hi"}))
        on_socket = (await recv_run(ws))[-1]["content"]["user"]
    assert on_socket == whoami.json()["user"] and on_socket.startswith("anon-")


async def test_a_socket_without_a_cookie_is_handed_one_on_the_upgrade(live: LiveServer) -> None:
    """A cookie-less socket gets a fresh identity and its cookie in the 101 response."""
    async with websockets.connect(live.ws) as ws:
        assert ws.response is not None
        handed = ws.response.headers["set-cookie"]
    assert handed.startswith(f"{COOKIE}=") and "HttpOnly" in handed


async def test_a_forged_cookie_is_refused_on_http_and_before_the_upgrade(live: LiveServer) -> None:
    """A cookie signed with another secret (or edited) is 401, never a fresh identity."""
    forged = as_user(live, "alice")["Cookie"][:-3] + "AAA"
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post(
            "/api/invoke", json={"action": "whoami", "text": "x"}, headers={"Cookie": forged}
        )
    assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(live.ws, additional_headers={"Cookie": forged}):
            pass
    assert caught.value.response.status_code == 401


def test_redaction_hides_token_values_in_messages_and_arguments() -> None:
    """token=… becomes token=*** wherever it appears; other query parameters stay."""
    assert redact('"GET /ws?dialect=x&token=abc.def HTTP/1.1"') == (
        '"GET /ws?dialect=x&token=*** HTTP/1.1"'
    )
    record = logging.LogRecord("uvicorn.access", 20, "f", 1, "%s %s", ("/ws?TOKEN=s3", 1), None)
    RedactTokens().filter(record)
    assert record.getMessage() == "/ws?TOKEN=*** 1"
