"""Who may talk to the server from a browser: the Origin check and the page security headers.

A browser sends ``Origin`` on every WebSocket upgrade and on cross-site requests; a page on
another site must not open a socket with the user's cookies (cross-site WebSocket hijacking) or
POST to ``/api/*``. A request is allowed when it has no ``Origin`` (not a browser: the CLI, the
Python client, curl), when its origin is the server's own (same scheme-less host and port as
``Host``), or when the origin is in the configured allow-list (``AGENTSTREAM_ALLOWED_ORIGINS``,
comma-separated, e.g. ``https://app.example.com``). Refusals happen before the upgrade (HTTP 403).

:func:`cors` answers cross-origin HTTP for the allow-listed origins only (Starlette's
``CORSMiddleware``): a preflight from one of them is answered with the methods and headers we
accept and ``Access-Control-Allow-Credentials`` (the identity cookie); any other origin gets no
``Access-Control-Allow-Origin``, so its page cannot read our answers. The server's own origin
needs no CORS (same-origin), so with an empty list no CORS header is ever sent.

:class:`SecurityHeaders` adds to every HTTP answer a Content-Security-Policy allowing only our
own scripts, styles and sockets, ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentstream.protocol.codec import dumps

logger = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str] = ()) -> bool:
    """Whether a request from ``origin`` to the server at ``host`` may go on.

    Args:
        origin: The ``Origin`` header, None when absent (not a browser).
        host: The ``Host`` header the request was sent to.
        allowed: Extra origins allowed (exact ``scheme://host[:port]``, case-insensitive).
    """
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin in {o.strip().lower().rstrip("/") for o in allowed}:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False
    return parts.netloc == host.strip().lower()


def cors(allowed: Iterable[str]) -> Middleware:
    """The CORS middleware for ``allowed`` origins (exact ``scheme://host[:port]``)."""
    origins = [o.strip().rstrip("/") for o in allowed if o.strip() and o.strip() != "*"]
    return Middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        allow_credentials=True,
        max_age=600,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class OriginGuard:
    """ASGI middleware: refuse WebSocket upgrades and unsafe requests from foreign origins."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str] = ()) -> None:
        """Guard ``app``; ``allowed`` lists origins besides the server's own."""
        self.app = app
        self.allowed = tuple(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a foreign origin with 403 before the route (or the upgrade) runs."""
        checked = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
        )
        if checked and not request_origin_allowed(scope, self.allowed):
            await forbid(scope, send)
            return
        await self.app(scope, receive, send)


def request_origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether the request's Origin may use this server (logged when it may not)."""
    if origin_allowed(_header(scope, b"origin"), _header(scope, b"host"), allowed):
        return True
    logger.info("origin | refused a %s from a foreign origin", scope["type"])
    return False


async def forbid(scope: Scope, send: Send) -> None:
    """Refuse a foreign origin: 403 (a WebSocket closed before its upgrade is one too)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        return
    body = dumps({"type": "error", "code": "forbidden_origin", "message": "origin not allowed"})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


class SecurityHeaders:
    """ASGI middleware: CSP, nosniff and Referrer-Policy on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start of an HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
