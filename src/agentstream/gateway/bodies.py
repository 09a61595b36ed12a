"""Guard for HTTP request bodies, before any route reads them.

Every request that may carry a body (anything but ``GET``/``HEAD``/``OPTIONS``) must say
``Content-Type: application/json``: a cross-site page can send ``text/plain``, form encodings or
no type at all without a CORS preflight, so refusing them (415) stops forged verdicts and runs.
The body is read here up to ``max_bytes`` (413 past it, counted as it arrives, whatever
``Content-Length`` claims), so no route ever buffers 100 MB.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentstream.protocol.codec import dumps

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPE = "application/json"


class BodyGuard:
    """ASGI middleware: JSON bodies only, at most ``max_bytes`` of them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        """Guard ``app``; bodies over ``max_bytes`` are refused with 413."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, read its body (bounded), then hand it to the app."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if content_type(scope) != JSON_TYPE:
            await _refuse(
                send, 415, "unsupported_media_type", "send Content-Type: application/json"
            )
            return
        body = await self._read(receive)
        if body is None:
            await _refuse(send, 413, "body_too_large", f"request body over {self.max_bytes} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def content_type(scope: Scope) -> str:
    """The request's media type, lower case, without parameters ('' when absent)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            text = bytes(value).decode("latin-1")
            return text.split(";", 1)[0].strip().lower()
    return ""


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    logger.info("http | refused %d %s", status, code)
    body = dumps({"type": "error", "code": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
