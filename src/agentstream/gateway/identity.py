"""Who is asking: the one place every transport learns the user.

Today a client names itself (``?user=`` on the WebSocket and over HTTP, or an ``X-User`` header
over HTTP); nobody named is ``anonymous``. Authentication (issue 10) will change this function
and nothing else: the WebSocket transport, the HTTP and SSE endpoints, CalledIt's ``/api/calls``
and the real-estate app's ``/invoke`` all call it.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

ANONYMOUS = "anonymous"


def identify(connection: HTTPConnection) -> str:
    """The user behind ``connection`` (a WebSocket handshake or an HTTP request)."""
    return connection.query_params.get("user") or connection.headers.get("x-user") or ANONYMOUS
