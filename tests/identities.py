"""Test identities: the headers that make a request or WebSocket handshake act as one named user.

Every test that needs the *same* user on two connections (resume, ownership, logging a call read
back over HTTP) asks here, so how identity is proven changes in this one file. Tests that need
only one connection send nothing and get the identity the server gives them.
"""

from __future__ import annotations

from typing import Any


def as_user(server: Any, name: str) -> dict[str, str]:
    """Headers that make requests to ``server`` (a ``LiveServer``) act as the user ``name``.

    Pass them as ``additional_headers=`` to ``websockets.connect`` or ``headers=`` to httpx.
    """
    del server  # today the name is claimed; with proven identity it is minted per server
    return {"X-User": name}
