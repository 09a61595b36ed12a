"""Server-Sent Events for clients that cannot use WebSockets.

``POST /api/runs`` starts a run from the same JSON a WebSocket client would send and answers
``{"runId", "events"}``; ``GET /api/runs/{id}/events`` streams it with ``id:`` = ``seq`` and
resumes after ``Last-Event-ID`` (header, or ``?lastEventId=``). The stream ends after the run's
terminal event. Runs belong to the ``?user=`` (or ``X-User``) that started them; anyone else gets
404, as for an unknown id. The default dialect here is ``ag-ui``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from agentstream.gateway.context import RouteContext
from agentstream.protocol.codec import DecodeError, dumps, loads
from agentstream.protocol.dialects import Dialect, UnknownDialect, get_dialect
from agentstream.protocol.events import Event, is_terminal
from agentstream.runs.log import LogGap

if TYPE_CHECKING:
    from agentstream.gateway.app import Gateway
    from agentstream.runs.run import Run

logger = logging.getLogger(__name__)

SSE_DIALECT = "ag-ui"
KEEPALIVE_S = 15.0


def _user(request: Request) -> str:
    return request.query_params.get("user") or request.headers.get("x-user") or "anonymous"


class _Queue:
    """A run subscriber feeding one SSE response."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def deliver(self, event: Event) -> None:
        self.queue.put_nowait(event)


def _frame(dialect: Dialect, event: Event) -> str:
    return f"id: {event.seq}\ndata: {dumps(dialect.render(event))}\n\n"


async def _stream(run: Run, dialect: Dialect, after: int, gateway: Gateway) -> AsyncIterator[str]:
    sink = _Queue()
    try:
        run.subscribe(sink, after_seq=after)
    except LogGap as exc:
        yield f"event: error\ndata: {dumps(dialect.render_error(str(exc), 'expired'))}\n\n"
        return
    gateway.runs.attached(run)
    try:
        while True:
            try:
                event = await asyncio.wait_for(sink.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _frame(dialect, event)
            if is_terminal(event):
                return
    finally:
        run.unsubscribe(sink)
        gateway.runs.detached(run)


async def start_run(request: Request) -> Response:
    """``POST /api/runs``: start a run; stream it from the returned ``events`` URL."""
    gateway: Gateway = request.app.state.gateway
    user = _user(request)
    try:
        body = loads(await request.body())
        if not isinstance(body, dict):
            raise DecodeError("a message must be a JSON object with an 'action' field")
        route = gateway.app.select(body.get("action"))
        if route is None or not route.streams:
            return JSONResponse(
                {
                    "message": f"no streaming action {body.get('action')!r}",
                    "code": "unknown_action",
                    "actions": gateway.app.actions,
                },
                400,
            )
        fields = {k: v for k, v in body.items() if k not in ("action", "requestId")}
        payload = route.request.model_validate(fields)
    except DecodeError as exc:
        return JSONResponse({"message": str(exc), "code": "invalid_json"}, 400)
    except ValidationError as exc:
        from agentstream.gateway.app import validation_message

        return JSONResponse({"message": validation_message(exc), "code": "invalid_request"}, 422)
    ctx = RouteContext(
        connection_id="sse", user=user, settings=gateway.settings, services=gateway.services
    )
    run = gateway.launch(route, payload, ctx)
    # Nobody is attached yet: the detach grace applies until a client opens the event stream.
    gateway.runs.detached(run)
    return JSONResponse({"runId": run.id, "events": f"/api/runs/{run.id}/events"}, 201)


async def run_events(request: Request) -> Response:
    """``GET /api/runs/{run_id}/events``: the run as Server-Sent Events."""
    gateway: Gateway = request.app.state.gateway
    run = gateway.runs.get(request.path_params["run_id"], _user(request))
    if run is None:
        return JSONResponse({"message": "no such run", "code": "unknown_run"}, 404)
    try:
        dialect = get_dialect(request.query_params.get("dialect") or SSE_DIALECT)
    except UnknownDialect as exc:
        return JSONResponse({"message": str(exc), "code": "bad_request"}, 400)
    last = request.headers.get("last-event-id") or request.query_params.get("lastEventId") or "0"
    if not last.isdigit():
        return JSONResponse(
            {"message": "Last-Event-ID must be a seq number", "code": "bad_request"}, 400
        )
    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(run, dialect, int(last), gateway), media_type="text/event-stream", headers=headers
    )
