"""``POST /invoke``: the same handler for plain HTTP callers, answering with the final result.

The body is the WebSocket message without the need for an ``action`` (it defaults to
``invoke``). The answer is the result's ``data`` (``{success, content, agent, …}``) with status
200, or ``{"success": false, "error", "timestamp"}`` with 4xx/5xx. It goes through the gateway's
own parse and dispatch, so validation, identity and runs are the WebSocket's.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentstream.gateway.credentials import user_of
from agentstream.gateway.http import Collector, dispatcher_of, invoke_raw
from agentstream.protocol.dialects import get_dialect


def _failure(error: str, status: int, code: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": error, "code": code, "timestamp": time.time()}, status
    )


async def invoke_http(request: Request) -> Response:
    """Run ``invoke`` for an HTTP caller and answer its result."""
    # Our dialect, whatever the caller asked for: the answer below is unwrapped from it.
    collector = Collector(get_dialect("realestate"), user_of(request))
    frame, status = await invoke_raw(
        dispatcher_of(request), await request.body(), collector, default_action="invoke"
    )
    if frame.get("type") == "result":
        return JSONResponse(frame.get("data"), 200)
    if status < 400:
        status = 400 if frame.get("code") == "unknown_action" else 500
    return _failure(
        str(frame.get("error") or frame.get("message") or "failed"),
        status,
        str(frame.get("code") or "error"),
    )


ROUTES = [Route("/invoke", invoke_http, methods=["POST"])]
