"""Who is asking: the one place every transport learns the user.

Today a client names itself (``?user=`` on the WebSocket and over HTTP, or an ``X-User`` header
over HTTP); nobody named is ``anonymous``. Authentication (issue 10) will change this function
and nothing else: the WebSocket transport, the HTTP and SSE endpoints, CalledIt's ``/api/calls``
and the real-estate app's ``/invoke`` all call it.
"""

from __future__ import annotations

from typing import ClassVar

from starlette.requests import HTTPConnection

from agentstream.errors import BadRequest

ANONYMOUS = "anonymous"
MAX_USER_CHARS = 128


class BadIdentity(BadRequest):
    """A user id that cannot be one: too long, or with control characters (a forged log line)."""

    code: ClassVar[str] = "bad_identity"


def identify(connection: HTTPConnection) -> str:
    """The user behind ``connection`` (a WebSocket handshake or an HTTP request).

    Raises:
        BadIdentity: the id has a control character (newline…) or is over 128 characters.
    """
    user = connection.query_params.get("user") or connection.headers.get("x-user") or ANONYMOUS
    if len(user) > MAX_USER_CHARS or not user.isprintable():
        raise BadIdentity("a user id is at most 128 printable characters")
    return user
