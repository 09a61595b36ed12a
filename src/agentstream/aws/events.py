"""API Gateway WebSocket events as one typed value, and who is speaking in them.

A Lambda behind a WebSocket API gets a dict per ``$connect``, ``$disconnect`` and message. This
module reads the parts the adapter needs (route, connection id, body, the management endpoint)
and the identity: with an authorizer, ``requestContext.authorizer.principalId`` (or a ``sub`` in
the authorizer's context or JWT claims; API Gateway passes ``$connect``'s authorizer context to
every later event of the connection); without one, an anonymous identity of that one connection,
so a run stays its own connection's. No I/O here.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Final

ANONYMOUS_PREFIX: Final = "anon-"
# A principal longer than this, or with a space or '#', is not used (the store refuses them).
_MAX_PRINCIPAL: Final = 200


@dataclass(frozen=True, kw_only=True)
class WsEvent:
    """One API Gateway WebSocket event, read."""

    route_key: str
    event_type: str
    connection_id: str
    user: str
    endpoint: str
    body: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    protocols: tuple[str, ...] = ()


def principal(context: dict[str, Any]) -> str | None:
    """The authorizer's principal in a ``requestContext``, or None without an authorizer."""
    authorizer = context.get("authorizer")
    if not isinstance(authorizer, dict):
        return None
    claims = authorizer.get("claims") or authorizer.get("jwt", {}).get("claims") or {}
    for value in (authorizer.get("principalId"), authorizer.get("sub"), claims.get("sub")):
        if isinstance(value, str) and _usable(value):
            return value
    return None


def _usable(value: str) -> bool:
    return (
        0 < len(value) <= _MAX_PRINCIPAL
        and value.isprintable()
        and not any(c in value for c in " #")
        and value.isascii()
    )


def user_of(context: dict[str, Any]) -> str:
    """Who is speaking: the authorizer's principal, else this connection's anonymous id."""
    found = principal(context)
    return found if found is not None else ANONYMOUS_PREFIX + str(context.get("connectionId", ""))


def management_endpoint(context: dict[str, Any]) -> str:
    """Where to post frames: ``AGENTSTREAM_MANAGEMENT_ENDPOINT``, else ``https://{domain}/{stage}``.

    The stage is part of the URL (forgetting it was seed 002's first bug); the variable is for
    custom domains and local runs.
    """
    configured = os.environ.get("AGENTSTREAM_MANAGEMENT_ENDPOINT")
    if configured:
        return configured.rstrip("/")
    return f"https://{context.get('domainName', '')}/{context.get('stage', '')}"


def _body(event: dict[str, Any]) -> str | None:
    body = event.get("body")
    if body is None:
        return None
    if event.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8", "replace")
    return str(body)


def _protocols(event: dict[str, Any]) -> tuple[str, ...]:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = str(headers.get("sec-websocket-protocol") or "")
    return tuple(p.strip() for p in offered.split(",") if p.strip())


def read_event(event: dict[str, Any]) -> WsEvent:
    """The parts of an API Gateway WebSocket ``event`` the adapter uses.

    Raises:
        ValueError: the event has no ``requestContext.connectionId`` (not a WebSocket event).
    """
    context = event.get("requestContext") or {}
    connection_id = context.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError("not an API Gateway WebSocket event (no requestContext.connectionId)")
    return WsEvent(
        route_key=str(context.get("routeKey", "$default")),
        event_type=str(context.get("eventType", "MESSAGE")),
        connection_id=connection_id,
        user=user_of(context),
        endpoint=management_endpoint(context),
        body=_body(event),
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        protocols=_protocols(event),
    )
