"""BodyGuard over a real server: JSON bodies only, and never more than the limit read."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, serve
from tests.gateway.test_http import echo_app

JSON = {"content-type": "application/json"}
BODY = b'{"action":"echo","text":"hi"}'


@pytest.fixture
def live() -> Iterator[LiveServer]:
    settings = Settings(model="scripted", store="none", max_body_bytes=2000)
    with serve(echo_app(), settings) as server:
        yield server


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_post_that_is_not_json_is_refused_415(
    live: LiveServer, content_type: str | None
) -> None:
    """Types a cross-site page can send without a preflight never reach a route."""
    headers = {"content-type": content_type} if content_type else {}
    async with httpx.AsyncClient(base_url=live.http) as client:
        for path in ("/api/invoke", "/api/runs"):
            answer = await client.post(path, content=BODY, headers=headers)
            assert answer.status_code == 415, path
            assert answer.json()["code"] == "unsupported_media_type"


async def test_json_with_a_charset_passes(live: LiveServer) -> None:
    """application/json with parameters is JSON: the run answers 200."""
    headers = {"content-type": "Application/JSON; charset=utf-8"}
    async with httpx.AsyncClient(base_url=live.http) as client:
        answer = await client.post("/api/invoke", content=BODY, headers=headers)
    assert answer.status_code == 200 and answer.json()["type"] == "complete"


async def test_a_body_over_the_limit_is_refused_413_without_being_buffered(
    live: LiveServer,
) -> None:
    """One byte past max_body_bytes is 413 (streamed in chunks, no Content-Length to trust)."""

    async def chunks() -> object:
        for _ in range(2001):
            yield b" "

    async with httpx.AsyncClient(base_url=live.http) as client:
        at_limit = await client.post(
            "/api/invoke", content=BODY + b" " * (2000 - len(BODY)), headers=JSON
        )
        over = await client.post("/api/invoke", content=chunks(), headers=JSON)  # type: ignore[arg-type]
    assert at_limit.status_code == 200
    assert over.status_code == 413 and over.json()["code"] == "body_too_large"


async def test_get_requests_pass_untouched(live: LiveServer) -> None:
    """Safe methods are not checked (pages and SSE need no content type)."""
    async with httpx.AsyncClient(base_url=live.http) as client:
        assert (await client.get("/healthz")).status_code == 200
