"""The Lambda ``Invoke`` API, so handlers can invoke the template's functions locally.

Seed handlers hand long agent runs to another function with ``InvocationType="Event"`` to stay
under the 29 s integration timeout; with ``AWS_ENDPOINT_URL_LAMBDA`` pointing here that works
unchanged. ``RequestResponse`` answers the result (a handler error comes back as a 200 with
``X-Amz-Function-Error: Unhandled``, as Lambda does), ``Event`` answers 202 and runs in the
background, ``DryRun`` answers 204. Only ``$LATEST`` exists: qualifiers are ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from agentstream.aws.emulator.gateway import Gateway
from agentstream.aws.emulator.http import Request, Response

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def find_function(gateway: Gateway, name: str) -> str | None:
    """The logical id of the function a ``FunctionName`` (name, ARN or logical id) means."""
    name = name.split(":function:", 1)[-1].split(":", 1)[0]  # ARN → name, drop a qualifier
    for logical_id, pool in gateway.runtime.pools.items():
        if name in (pool.fn.name, logical_id):
            return logical_id
    return None


def _error(status: int, kind: str, message: str) -> Response:
    return Response.json(status, {"Type": "User", "message": message}, **{"x-amzn-ErrorType": kind})


async def handle(gateway: Gateway, request: Request) -> Response | None:
    """Answer an ``Invoke`` call; None when the request is not one."""
    match = _INVOKE.match(request.raw_path)
    if request.method != "POST" or match is None:
        return None
    name = unquote(match.group("name"))
    logical_id = find_function(gateway, name)
    if logical_id is None:
        return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
    try:
        event: Any = json.loads(request.body or b"{}")
    except ValueError:
        return _error(
            400, "InvalidRequestContentException", "Could not parse request body into json"
        )
    kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
    if kind == "DryRun":
        return Response(204)
    if kind == "Event":
        gateway.spawn(gateway.invoke(logical_id, event, "lambda:Invoke Event"))
        return Response(202)
    inv = await gateway.invoke(logical_id, event, "lambda:Invoke")
    headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
    if inv.ok:
        return Response(200, json.dumps(inv.result).encode(), headers)
    payload = {
        "errorMessage": inv.error_message,
        "errorType": inv.error_type,
        "requestId": inv.request_id,
        "stackTrace": [],
    }
    headers["X-Amz-Function-Error"] = "Unhandled"
    return Response(200, json.dumps(payload).encode(), headers)
