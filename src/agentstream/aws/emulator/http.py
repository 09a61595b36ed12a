"""The little HTTP/1.1 the emulator's one port needs: read a request head, answer, stream chunks.

Written here rather than taken from a server library because the same socket may turn into a
WebSocket whose handshake is decided by API Gateway rules (``connection.py``), and the
management API, Bedrock endpoint and console share the port. Requests are small (boto3 sends
``Content-Length``); responses are whole or chunked (Bedrock's event streams).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024  # far above any AWS payload quota the emulator models


class BadRequest(ValueError):
    """The bytes on the socket are not an HTTP/1.1 request we can serve."""


@dataclass
class Request:
    """A parsed request head (and body, once read)."""

    method: str
    target: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    head: bytes
    peer: str
    body: bytes = b""

    @property
    def path(self) -> str:
        """The URL path, percent-decoded."""
        return unquote(urlsplit(self.target).path)

    @property
    def raw_path(self) -> str:
        """The URL path as sent."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string, multi-valued."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def is_websocket(self) -> bool:
        """A WebSocket upgrade request."""
        return self.method == "GET" and self.headers.get("upgrade", "").lower() == "websocket"


@dataclass
class Response:
    """A whole response."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> Response:
        """A JSON response."""
        return cls(
            status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers}
        )


def parse_head(head: bytes, peer: str) -> Request:
    """Parse ``head`` (request line and headers, ending in a blank line)."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest("malformed request line") from exc
    if not version.startswith("HTTP/1."):
        raise BadRequest("only HTTP/1.x is served")
    raw: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        raw.append((name.strip(), value.strip()))
    headers = {k.lower(): v for k, v in raw}
    return Request(method, target, headers, raw, head, peer)


async def read_request(reader: asyncio.StreamReader, peer: str) -> Request | None:
    """The next request on a keep-alive connection, body included; None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    request = parse_head(head, peer)
    if not request.is_websocket:
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            raise BadRequest("chunked request bodies are not supported")
        length = int(request.headers.get("content-length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise BadRequest(f"request body over {MAX_BODY} bytes")
        request.body = await reader.readexactly(length) if length else b""
    return request


def _head(status: int, headers: dict[str, str]) -> bytes:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    lines = [f"HTTP/1.1 {status} {phrase}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def write_response(writer: asyncio.StreamWriter, response: Response) -> None:
    """Send a whole response (keep-alive)."""
    headers = {"Content-Length": str(len(response.body)), **response.headers}
    headers.setdefault("x-amzn-RequestId", "emulator")
    writer.write(_head(response.status, headers) + response.body)
    await writer.drain()


async def start_chunked(writer: asyncio.StreamWriter, status: int, headers: dict[str, str]) -> None:
    """Send a response head whose body follows in chunks."""
    writer.write(_head(status, {**headers, "Transfer-Encoding": "chunked"}))
    await writer.drain()


async def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send one chunk; an empty ``data`` ends the body."""
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()
