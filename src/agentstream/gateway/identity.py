"""Who is asking: the one place every transport learns the user, proven and never claimed.

:func:`identify` is a pure function of what the client presented (:class:`Credentials`: an
identity cookie, a bearer token in a header, in ``Sec-WebSocket-Protocol`` or in ``?token=``)
and the server's :class:`AuthConfig`. Transports only gather the credentials
(:mod:`~agentstream.gateway.credentials`); the Lambda adapter can call it with API Gateway's
authorizer context the same way. ``?user=`` and ``X-User`` mean nothing.

- A subject already proved by a trusted front (``Credentials.authorized``: API Gateway's
  authorizer context, set by the Lambda adapter) is taken as is, in any mode.
- Authentication **off** (``serve`` on loopback): a valid signed identity cookie names the
  user; no cookie gives a fresh anonymous id for this connection; a cookie whose signature does
  not hold is refused (:class:`Unauthenticated`, HTTP 401), never silently replaced.
- Authentication **on** (``jwt`` or ``apikey``): a token is required; no token, a bad
  signature, an expired or malformed token, or an unknown key is 401; a token that is genuine
  but not for this server (wrong ``aud`` or ``iss``) is 403 (:class:`Forbidden`). Cookies are
  not accepted then.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from agentstream.errors import AgentstreamError, BadRequest

MAX_USER_CHARS = 128
BEARER_SUBPROTOCOL = "agentstream.bearer"
ANONYMOUS_PREFIX = "anon-"

AuthMode = Literal["off", "jwt", "apikey"]


class BadIdentity(BadRequest):
    """A user id that cannot be one: too long, or with control characters (a forged log line)."""

    code: ClassVar[str] = "bad_identity"


class Unauthenticated(AgentstreamError, PermissionError):
    """No credentials where some are required, or credentials that do not hold (HTTP 401)."""

    code: ClassVar[str] = "unauthenticated"
    http_status: ClassVar[int] = 401


class Forbidden(AgentstreamError, PermissionError):
    """Genuine credentials that are not for this server: wrong audience or issuer (HTTP 403)."""

    code: ClassVar[str] = "forbidden"
    http_status: ClassVar[int] = 403


class Signer(Protocol):
    """Signs and checks the anonymous identity cookie."""

    def sign(self, user: str) -> str:
        """The cookie value naming ``user``."""

    def verify(self, value: str) -> str | None:
        """The user a cookie value names, None when its signature does not hold."""


class TokenVerifier(Protocol):
    """Checks a bearer token (a JWT or an API key) and returns its subject."""

    def subject(self, token: str) -> str:
        """The user ``token`` proves.

        Raises:
            Unauthenticated: the token is malformed, expired, unsigned or unknown.
            Forbidden: the token is genuine but not for this server.
        """


@dataclass(frozen=True)
class Credentials:
    """What a client presented, gathered by its transport; nothing here is trusted yet."""

    cookie: str | None = None
    bearer: str | None = None
    subprotocols: Sequence[str] = ()
    query_token: str | None = None
    # A subject a trusted front already proved (API Gateway's authorizer ``principalId``): set
    # only by a transport that is behind such a front, never from anything the client sends.
    authorized: str | None = None


@dataclass(frozen=True)
class Identity:
    """Who a connection is, and how it proved it."""

    user: str
    # The subprotocol to echo when the token came in Sec-WebSocket-Protocol.
    subprotocol: str | None = None
    # True when nothing was presented and a new anonymous id was made for this connection.
    fresh: bool = False


@dataclass(frozen=True)
class AuthConfig:
    """How this server proves identity."""

    mode: AuthMode
    cookies: Signer
    tokens: TokenVerifier | None = None


def subprotocol_token(offered: Sequence[str]) -> str | None:
    """The token a browser offered as ``["agentstream.bearer", "<token>"]``, if any."""
    for index, name in enumerate(offered[:-1]):
        if name == BEARER_SUBPROTOCOL:
            return offered[index + 1]
    return None


def fresh_anonymous() -> str:
    """A new anonymous user id (unguessable: 128 random bits)."""
    return ANONYMOUS_PREFIX + secrets.token_urlsafe(16)


def checked_user(user: str) -> str:
    """``user`` if it can be a user id.

    Raises:
        BadIdentity: the id is empty, over 128 characters, or has a control character.
    """
    if not user or len(user) > MAX_USER_CHARS or not user.isprintable():
        raise BadIdentity("a user id is 1 to 128 printable characters")
    return user


def identify(credentials: Credentials, config: AuthConfig) -> Identity:
    """The user behind ``credentials`` under ``config`` (see the module docstring).

    Raises:
        Unauthenticated: credentials are missing (auth on) or do not hold.
        Forbidden: a genuine token that is not for this server.
        BadIdentity: a token's subject cannot be a user id.
    """
    from_subprotocol = subprotocol_token(credentials.subprotocols)
    # A browser that offered the bearer pair must get a protocol back, or it drops the socket.
    echo = BEARER_SUBPROTOCOL if from_subprotocol is not None else None
    if credentials.authorized is not None:
        return Identity(checked_user(credentials.authorized), subprotocol=echo)
    if config.mode == "off":
        if credentials.cookie is None:
            return Identity(fresh_anonymous(), subprotocol=echo, fresh=True)
        user = config.cookies.verify(credentials.cookie)
        if user is None:
            raise Unauthenticated("the identity cookie is not valid")
        return Identity(checked_user(user), subprotocol=echo)
    token = credentials.bearer or from_subprotocol or credentials.query_token
    if not token:
        raise Unauthenticated("a token is required")
    if config.tokens is None:
        raise Unauthenticated("this server accepts no tokens")
    return Identity(checked_user(config.tokens.subject(token)), subprotocol=echo)
