"""Origin check and page headers, as pure rules and over a real server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import websockets

from agentstream.gateway.origins import CSP, origin_allowed
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, serve
from tests.gateway.test_http import echo_app


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "a:1", (), True),
        ("http://a:1", "a:1", (), True),
        ("https://A:1/", "a:1", (), True),
        ("http://evil:1", "a:1", (), False),
        ("http://a:2", "a:1", (), False),
        ("null", "a:1", (), False),
        ("http://a:1", None, (), False),
        ("https://app.example", "a:1", ("https://app.example",), True),
    ],
)
def test_origin_rules(
    origin: str | None, host: str | None, allowed: tuple[str, ...], ok: bool
) -> None:
    """No Origin, the server's own, or a listed one pass; anything else is refused."""
    assert origin_allowed(origin, host, allowed) is ok


@pytest.fixture
def live() -> Iterator[LiveServer]:
    settings = Settings(model="scripted", store="none", allowed_origins=("https://ok.example",))
    with serve(echo_app(), settings) as server:
        yield server


async def test_a_foreign_origin_cannot_open_a_socket(live: LiveServer) -> None:
    """A WebSocket upgrade from another site is refused with HTTP 403 before the upgrade."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(live.ws, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    own = f"http://127.0.0.1:{live.port}"
    for origin in (own, "https://ok.example"):
        async with websockets.connect(live.ws, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send('{"action":"ping"}')
            assert "pong" in str(await ws.recv())


async def test_a_foreign_origin_cannot_post(live: LiveServer) -> None:
    """A cross-site POST is 403 even with a JSON type; the server's own origin passes."""
    body = {"action": "echo", "text": "hi"}
    async with httpx.AsyncClient(base_url=live.http) as client:
        evil = await client.post(
            "/api/invoke", json=body, headers={"origin": "http://evil.example"}
        )
        own = await client.post("/api/invoke", json=body, headers={"origin": live.http})
    assert evil.status_code == 403 and evil.json()["code"] == "forbidden_origin"
    assert own.status_code == 200


async def test_pages_carry_the_security_headers(live: LiveServer) -> None:
    """Every HTTP answer has the CSP (no inline script), nosniff and a Referrer-Policy."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        page = await client.get("/")
    assert page.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"


async def test_cors_answers_allow_listed_origins_only() -> None:
    """An allow-listed origin's preflight and GET get ACAO (with credentials); others get none."""
    settings = Settings(model="scripted", store="none", allowed_origins=("https://app.example",))
    with serve(echo_app(), settings) as live:
        async with httpx.AsyncClient(base_url=live.http) as client:
            preflight = {"Access-Control-Request-Method": "POST"}
            ok = await client.options(
                "/api/invoke", headers={"Origin": "https://app.example", **preflight}
            )
            evil = await client.options(
                "/api/invoke", headers={"Origin": "https://evil.example", **preflight}
            )
            read = await client.get("/healthz", headers={"Origin": "https://app.example"})
            foreign_read = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert read.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-origin" not in foreign_read.headers


async def test_without_an_allow_list_no_cors_header_is_sent(live: LiveServer) -> None:
    """The server's own origin needs no CORS: by default no answer carries ACAO."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.get("/healthz", headers={"Origin": live.http})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
