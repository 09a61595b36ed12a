"""API Gateway HTTP events (HTTP API payload 2.0 and REST 1.0) read for the adapter.

The real-estate seed serves its HTTP API and its WebSocket API from one handler; so does the
adapter. An HTTP event is answered like ``POST /api/invoke`` (the same JSON a WebSocket client
sends; the run's terminal frame back), through :func:`agentstream.gateway.http.invoke_raw`. The
user is the authorizer's (a Lambda authorizer's ``principalId``/``sub``, or a JWT authorizer's
``claims.sub``), else an anonymous id of the request.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from agentstream.aws.events import ANONYMOUS_PREFIX, principal


@dataclass(frozen=True, kw_only=True)
class HttpEvent:
    """One HTTP request, as the adapter needs it."""

    method: str
    path: str
    user: str
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)


def is_http(event: dict[str, Any]) -> bool:
    """Whether ``event`` is an HTTP API (2.0) or REST API (1.0) request."""
    context = event.get("requestContext") or {}
    return "http" in context or "httpMethod" in event


def _authorizer_principal(context: dict[str, Any]) -> str | None:
    authorizer = context.get("authorizer") or {}
    lambda_context = authorizer.get("lambda") if isinstance(authorizer, dict) else None
    if isinstance(lambda_context, dict):  # HTTP API Lambda authorizers put their context here
        found = principal({"authorizer": lambda_context})
        if found is not None:
            return found
    return principal(context)


def read_http(event: dict[str, Any]) -> HttpEvent:
    """The method, path, body, query and user of an HTTP ``event``."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
    path = str(event.get("rawPath") or event.get("path") or "/")
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
    found = _authorizer_principal(context)
    user = found if found is not None else ANONYMOUS_PREFIX + str(context.get("requestId", "http"))
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    return HttpEvent(method=method, path=path, user=user, body=body, query=query)
