"""The ``@connections`` management API and the ``/_emulator`` console, over plain HTTP.

Answers as API Gateway does, so boto3's ``apigatewaymanagementapi`` client raises its own
exceptions: ``GoneException`` (410) for an unknown or closed connection,
``PayloadTooLargeException`` (413) over the message quota, ``ForbiddenException`` (403) for a
stage or API that does not exist. The error type travels in ``x-amzn-ErrorType`` like AWS's.

IAM is not enforced. Instead the API answers loopback peers only unless a shared secret is
configured and sent in ``X-Agentstream-Emulator-Secret`` (issue 10 item 3): anyone who can reach
the port could otherwise send to or close any connection.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from datetime import UTC, datetime
from typing import Any

from agentstream.aws.emulator.gateway import Gateway
from agentstream.aws.emulator.http import Request, Response

logger = logging.getLogger(__name__)
SECRET_HEADER = "x-agentstream-emulator-secret"
_CONNECTIONS = re.compile(r"^/(?:(?P<api>[^/]+)/)?(?P<stage>[^/]+)/@connections/(?P<id>[^/]+)$")


def peer_allowed(peer: str, headers: dict[str, str], secret: str | None) -> bool:
    """Loopback peers are always allowed; others only with the configured shared secret."""
    try:
        if ipaddress.ip_address(peer.split("%")[0]).is_loopback:
            return True
    except ValueError:
        pass
    sent = headers.get(SECRET_HEADER, "")
    return bool(secret) and hmac.compare_digest(sent.encode(), str(secret).encode())


def _error(status: int, kind: str, message: str) -> Response:
    return Response.json(status, {"message": message}, **{"x-amzn-ErrorType": kind})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def describe(gateway: Gateway) -> dict[str, Any]:
    """The ``GET /_emulator`` document: APIs, live connections, functions' warm workers."""
    apis = [
        {"apiId": a.api_id, "name": a.name, "stages": list(a.stages), "routes": sorted(a.routes)}
        for a in gateway.stack.apis
    ]
    conns = [
        {
            "connectionId": c.info.connection_id,
            "apiId": c.info.api_id,
            "stage": c.info.stage,
            "connectedAt": _iso(c.opened),
            "lastActiveAt": _iso(c.last_active),
            "sourceIp": c.info.source_ip,
            "userAgent": c.info.user_agent,
        }
        for c in gateway.connections.values()
    ]
    functions = [
        {"logicalId": lid, "name": pool.fn.name, "warm": len(pool.idle), "busy": len(pool.busy)}
        for lid, pool in gateway.runtime.pools.items()
    ]
    return {"stack": gateway.stack.name, "apis": apis, "connections": conns, "functions": functions}


async def handle(gateway: Gateway, request: Request, secret: str | None) -> Response | None:
    """Answer a management or console request; None when the path is not ours."""
    match = _CONNECTIONS.match(request.raw_path)
    if request.path.rstrip("/") != "/_emulator" and match is None:
        return None
    if not peer_allowed(request.peer, request.headers, secret):
        logger.warning("management peer=%s | refused: not loopback and no secret", request.peer)
        return _error(403, "ForbiddenException", "Forbidden")
    if match is None:
        return Response.json(200, describe(gateway))
    from urllib.parse import unquote

    api_id = request.headers.get("x-agentstream-api") or match.group("api")
    found = gateway.api_for(f"/{match.group('stage')}", api_id)
    if found is None:
        return _error(403, "ForbiddenException", "Forbidden")
    response = await _connection_call(gateway, request, unquote(match.group("id")))
    logger.info(
        "management %s conn=%s | %d", request.method, unquote(match.group("id")), response.status
    )
    return response


async def _connection_call(gateway: Gateway, request: Request, cid: str) -> Response:
    conn = gateway.connections.get(cid)
    if request.method == "POST" and len(request.body) > gateway.limits.message_bytes:
        return _error(413, "PayloadTooLargeException", "Request entity too large")
    if conn is None or not conn.open:
        return _error(410, "GoneException", f"connection {cid} is gone")
    if request.method == "POST":
        try:
            await conn.send(request.body)
        except ConnectionError:
            return _error(410, "GoneException", f"connection {cid} is gone")
        return Response(200)
    if request.method == "GET":
        info = conn.info
        return Response.json(
            200,
            {
                "connectedAt": _iso(conn.opened),
                "lastActiveAt": _iso(conn.last_active),
                "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
            },
        )
    if request.method == "DELETE":
        conn.close(1000, "")
        return Response(204)
    return _error(405, "MethodNotAllowed", "method not allowed")
