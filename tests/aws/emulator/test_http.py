"""The emulator's small HTTP/1.1 layer parses heads and refuses malformed ones."""

from __future__ import annotations

import asyncio

import pytest

from agentstream.aws.emulator.http import MAX_BODY, BadRequest, parse_head, read_request


def test_parse_head_reads_method_path_query_and_headers() -> None:
    """Path is decoded, raw path kept, query multi-valued, header names case-insensitive."""
    head = b"POST /prod/@connections/ab%3D?x=1&x=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
    request = parse_head(head, "127.0.0.1")
    assert request.method == "POST"
    assert request.path == "/prod/@connections/ab="
    assert request.raw_path == "/prod/@connections/ab%3D"
    assert request.query == {"x": ["1", "2"]}
    assert request.headers["content-length"] == "3" and not request.is_websocket


def test_websocket_upgrade_is_recognised() -> None:
    """GET with Upgrade: websocket is an upgrade request."""
    head = b"GET /prod HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"
    assert parse_head(head, "::1").is_websocket


@pytest.mark.parametrize(
    "head",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/2\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"],
    ids=["request-line", "version", "header"],
)
def test_malformed_head_is_bad_request(head: bytes) -> None:
    """Malformed request lines, versions and headers raise BadRequest."""
    with pytest.raises(BadRequest):
        parse_head(head, "127.0.0.1")


async def test_chunked_and_oversized_bodies_are_refused() -> None:
    """A chunked request body or a Content-Length over the cap raises BadRequest, unread."""
    for head in (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        f"POST / HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
    ):
        reader = asyncio.StreamReader()
        reader.feed_data(head)
        reader.feed_eof()
        with pytest.raises(BadRequest):
            await read_request(reader, "127.0.0.1")
