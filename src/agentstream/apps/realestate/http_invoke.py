"""``POST /invoke``: the same handler for plain HTTP callers, answering with the final result.

The body is the WebSocket message without the need for an ``action`` (it defaults to
``invoke``). The answer is the result's ``data`` (``{success, content, agent, …}``) with status
200, or ``{"success": false, "error", "timestamp"}`` with 4xx/5xx. It runs through the gateway's
own invoke path, so validation, runs and cancellation on disconnect are the WebSocket's.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message


def _failure(error: str, status: int, code: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": error, "code": code, "timestamp": time.time()}, status
    )


async def invoke_http(request: Request) -> Response:
    """Run ``invoke`` for an HTTP caller and answer its result."""
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return _failure(f"the body is not valid JSON: {exc}", 400, "invalid_json")
    if not isinstance(body, dict):
        return _failure("the body must be a JSON object", 400, "bad_request")
    body.setdefault("action", "invoke")
    payload = orjson.dumps(body)

    async def receive() -> Message:
        return {"type": "http.request", "body": payload, "more_body": False}

    # Our dialect, whatever the caller asked for: the answer below is unwrapped from it.
    user = request.query_params.get("user") or request.headers.get("x-user") or "anonymous"
    scope = {**request.scope, "query_string": urlencode({"user": user}).encode()}
    answer = await request.app.state.gateway.invoke(Request(scope, receive))
    frame = orjson.loads(answer.body)
    if frame.get("type") == "result":
        return JSONResponse(frame.get("data"), 200)
    status = (
        answer.status_code
        if answer.status_code >= 400
        else (400 if frame.get("code") == "unknown_action" else 500)
    )
    return _failure(
        str(frame.get("error") or frame.get("message") or "failed"),
        status,
        str(frame.get("code") or "error"),
    )


ROUTES = [Route("/invoke", invoke_http, methods=["POST"])]
