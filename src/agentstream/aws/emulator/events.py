"""The Lambda events API Gateway sends for a WebSocket API, and its route selection. No I/O.

Shapes follow AWS's context-variable reference and captured real events (see
``research/anchors-and-protocols.md`` §5): every event carries the full ``requestContext``;
``$connect`` adds the handshake's headers and query string; ``MESSAGE`` adds ``messageId`` and the
body (base64 with ``isBase64Encoded`` for binary frames); ``$disconnect`` adds the close code and
reason. ``tests/aws/emulator/test_events.py`` validates them with aws-lambda-powertools' models.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_id(size: int = 16, tail: str = "=") -> str:
    """An opaque id shaped like API Gateway's (``L0SM9cOFvHcCIhw=``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(size - len(tail))) + tail


def clf_time(epoch_ms: int) -> str:
    """``requestTime`` in Common Log Format, as API Gateway writes it."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass
class ConnectionInfo:
    """What API Gateway remembers about one connection and repeats in every event."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str
    connected_at: int  # epoch ms
    headers: dict[str, str] = field(default_factory=dict)
    multi_headers: dict[str, list[str]] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None


def _context(conn: ConnectionInfo, route_key: str, event_type: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    request_id = new_id(16)
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": clf_time(now),
        "messageDirection": "IN",
        "stage": conn.stage,
        "connectedAt": conn.connected_at,
        "requestTimeEpoch": now,
        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
        "requestId": request_id,
        "domainName": conn.domain_name,
        "connectionId": conn.connection_id,
        "apiId": conn.api_id,
    }
    if conn.authorizer is not None:
        ctx["authorizer"] = conn.authorizer
    return ctx


def _query(conn: ConnectionInfo) -> dict[str, Any]:
    if not conn.query:
        return {}
    return {
        "queryStringParameters": {k: v[-1] for k, v in conn.query.items()},
        "multiValueQueryStringParameters": dict(conn.query),
    }


def connect_event(conn: ConnectionInfo) -> dict[str, Any]:
    """The ``$connect`` event: handshake headers, query string, ``eventType: CONNECT``."""
    return {
        "headers": dict(conn.headers),
        "multiValueHeaders": dict(conn.multi_headers),
        **_query(conn),
        "requestContext": _context(conn, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }


def message_event(conn: ConnectionInfo, route_key: str, body: str | bytes) -> dict[str, Any]:
    """A ``MESSAGE`` event; a binary frame's body is base64 with ``isBase64Encoded``."""
    ctx = _context(conn, route_key, "MESSAGE")
    ctx["messageId"] = new_id(16)
    binary = isinstance(body, bytes)
    text = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    return {"requestContext": ctx, "body": text, "isBase64Encoded": binary}


def disconnect_event(conn: ConnectionInfo, code: int, reason: str) -> dict[str, Any]:
    """The ``$disconnect`` event, with the close code and reason API Gateway saw."""
    ctx = _context(conn, "$disconnect", "DISCONNECT")
    ctx["disconnectStatusCode"] = code
    ctx["disconnectReason"] = reason
    headers = {"Host": conn.domain_name, "x-api-key": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": ctx,
        "isBase64Encoded": False,
    }


def authorizer_event(conn: ConnectionInfo, region: str, account: str) -> dict[str, Any]:
    """The REQUEST authorizer event for ``$connect`` (no ``authorizer`` in its context yet)."""
    event = connect_event(conn)
    event["requestContext"].pop("authorizer", None)
    event["type"] = "REQUEST"
    event["methodArn"] = (
        f"arn:aws:execute-api:{region}:{account}:{conn.api_id}/{conn.stage}/$connect"
    )
    event.setdefault("queryStringParameters", {})
    event.setdefault("multiValueQueryStringParameters", {})
    event["stageVariables"] = {}
    return event


def stringify(value: Any) -> str:
    """How API Gateway turns a JSON value into a string (route keys, authorizer context)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(stringify(v) for v in value) + "]"
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, dict) else str(value)


def select_route(expression: str, body: str | bytes, routes: set[str]) -> str | None:
    """The route key for one message: the expression's value, else ``$default``, else None.

    Args:
        expression: the API's ``RouteSelectionExpression`` (``$request.body.a.b``).
        body: the message (binary messages never match a key).
        routes: the route keys the API has.
    """
    path = expression.strip()
    if path.startswith("${") and path.endswith("}"):
        path = "$" + path[2:-1]
    key = None
    if path.startswith("$request.body.") and isinstance(body, str):
        try:
            value: Any = json.loads(body)
            for part in path.removeprefix("$request.body.").split("."):
                value = value[part] if isinstance(value, dict) else None
            key = None if value is None else stringify(value)
        except (ValueError, KeyError, TypeError):
            key = None
    if key is not None and key in routes and not key.startswith("$"):
        return key
    return "$default" if "$default" in routes else None


def error_frame(message: str, connection_id: str, request_id: str) -> str:
    """The JSON frame API Gateway sends for Forbidden, handler errors and timeouts."""
    return json.dumps(
        {"message": message, "connectionId": connection_id, "requestId": request_id},
        separators=(",", ":"),
    )
