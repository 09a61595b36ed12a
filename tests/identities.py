"""Test identities: the headers that make a request or WebSocket handshake act as one named user.

Every test that needs the *same* user on two connections (resume, ownership, logging a call read
back over HTTP) asks here, so how identity is proven changes in this one file. Tests that need
only one connection send nothing and get the fresh identity the server gives them.

Identity is proven, never claimed: for a server running in this process (a ``LiveServer``, or
the ASGI app itself) the identity cookie is signed with that server's own secret, so the user is
exactly ``name``; for a server in another process (a base URL) the cookie is fetched from its
page once per (server, name) and kept, so the same name is the same (anonymous) user.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from agentstream.gateway.credentials import COOKIE

_fetched: dict[tuple[str, str], str] = {}


def cookie_for(server: Any, name: str) -> str:
    """The identity cookie value that makes ``server`` see the user ``name``."""
    if isinstance(server, str):
        key = (server.rstrip("/"), name)
        if key not in _fetched:
            _fetched[key] = httpx.get(f"{key[0]}/healthz").cookies[COOKIE]
        return _fetched[key]
    asgi = getattr(server, "asgi", server)
    return str(asgi.state.gateway.auth.cookies.sign(name))


def as_user(server: Any, name: str) -> dict[str, str]:
    """Headers that make requests to ``server`` act as the user ``name``.

    ``server`` is a ``LiveServer``, an app from ``create_app``, or a base URL
    (``http://host:port``). Pass the headers as ``additional_headers=`` to
    ``websockets.connect`` or ``headers=`` to httpx.
    """
    return {"Cookie": f"{COOKIE}={cookie_for(server, name)}"}


def user_in_cookie(cookies: list[dict[str, Any]]) -> str:
    """The user a browser's identity cookie names (Playwright's ``context.cookies()``)."""
    value = next(c["value"] for c in cookies if c["name"] == COOKIE)
    head = value.partition(".")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode("utf-8")
