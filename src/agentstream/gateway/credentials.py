"""The transport side of identity: gather credentials, set the anonymous cookie, hide tokens.

Transports stay thin: :func:`credentials_of` reads what a request or WebSocket handshake carries
and :func:`user_of` hands it to :func:`~agentstream.gateway.identity.identify`.

:class:`IdentityCookie` (authentication off) gives every HTTP client that has no identity cookie
a fresh signed one: the request is served as that new user, and the answer sets the cookie
(``HttpOnly; SameSite=Lax; Path=/``), so the page and every later socket, SSE stream and
``/api/*`` call from that browser (or cookie-keeping client) are one user.

:class:`RedactTokens` is a logging filter that replaces ``token=…`` in log lines (uvicorn's
access log prints request paths with their query) so a token never reaches a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Protocol, cast

from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentstream.gateway.identity import AuthConfig, Credentials, fresh_anonymous, identify

COOKIE = "agentstream_id"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
TOKEN_PARAM = "token"
_TOKEN_IN_TEXT = re.compile(r"(?i)(\btoken=)[^&\s\"']+")


class HoldsAuth(Protocol):
    """What the ASGI app's ``state.gateway`` offers here (the gateway, without importing it)."""

    @property
    def auth(self) -> AuthConfig:
        """The server's auth config."""


# The headers credentials come in (ASGI names are lower-case).
_CREDENTIAL_HEADERS = frozenset((b"authorization", b"sec-websocket-protocol"))


def credentials_of(connection: HTTPConnection) -> Credentials:
    """What ``connection`` (an HTTP request or a WebSocket handshake) presents."""
    # One pass over the raw headers, the first of each name winning and every Cookie header
    # merged, as in Starlette: looking each up there raised and caught a KeyError for every
    # header a client did not send, on every socket opened.
    found: dict[bytes, bytes] = {}
    cookies: dict[str, str] = {}
    for key, value in connection.scope.get("headers", ()):
        if key == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
        elif key in _CREDENTIAL_HEADERS and key not in found:
            found[key] = value
    scheme, _, bearer = found.get(b"authorization", b"").decode("latin-1").partition(" ")
    offered = found.get(b"sec-websocket-protocol", b"").decode("latin-1")
    return Credentials(
        cookie=cookies.get(COOKIE),
        bearer=bearer.strip() or None if scheme.lower() == "bearer" else None,
        subprotocols=tuple(p.strip() for p in offered.split(",") if p.strip()),
        query_token=connection.query_params.get(TOKEN_PARAM) or None,
    )


def auth_of(connection: HTTPConnection) -> AuthConfig:
    """The auth config of the app serving ``connection``."""
    return cast(HoldsAuth, connection.app.state.gateway).auth


def user_of(connection: HTTPConnection) -> str:
    """The proven user behind an HTTP request (every HTTP door asks here).

    Raises:
        Unauthenticated: no or bad credentials (answered 401).
        Forbidden: a token not for this server (answered 403).
    """
    return identify(credentials_of(connection), auth_of(connection)).user


def set_cookie_header(value: str, *, secure: bool) -> bytes:
    """The ``Set-Cookie`` value carrying an identity cookie."""
    attrs = f"Path=/; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax"
    return f"{COOKIE}={value}; {attrs}{'; Secure' if secure else ''}".encode("latin-1")


def _has_cookie(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(bytes(value).decode("latin-1"))
            except Exception:  # a cookie header http.cookies cannot read: no cookie of ours
                return COOKIE in bytes(value).decode("latin-1")
            return COOKIE in jar
    return False


def _with_cookie(headers: list[tuple[bytes, bytes]], value: str) -> list[tuple[bytes, bytes]]:
    """``headers`` with our cookie added to the request's Cookie header."""
    pair = f"{COOKIE}={value}".encode("latin-1")
    out, added = [], False
    for key, existing in headers:
        if key == b"cookie" and not added:
            existing, added = bytes(existing) + b"; " + pair, True
        out.append((key, existing))
    return out if added else [*out, (b"cookie", pair)]


class IdentityCookie:
    """ASGI middleware: a cookie-less HTTP client gets a fresh signed anonymous identity."""

    def __init__(self, app: ASGIApp, *, auth: Callable[[], AuthConfig]) -> None:
        """Wrap ``app``; ``auth`` returns the current config (it is built once the store opens)."""
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mint and set the cookie when authentication is off and the request has none."""
        config = self.auth()
        if scope["type"] != "http" or config.mode != "off" or _has_cookie(scope):
            await self.app(scope, receive, send)
            return
        value = config.cookies.sign(fresh_anonymous())
        scope = {**scope, "headers": _with_cookie(list(scope.get("headers", [])), value)}
        cookie = set_cookie_header(value, secure=scope.get("scheme") == "https")

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, with_cookie)


def redact(text: str) -> str:
    """``text`` with every ``token=…`` value replaced by ``***``."""
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


class RedactTokens(logging.Filter):
    """A logging filter that removes ``token=…`` values from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; always keep it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_redaction() -> None:
    """Put :class:`RedactTokens` on uvicorn's loggers (once; they log request paths)."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
