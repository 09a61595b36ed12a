"""HTTP transports: plain invoke, and Server-Sent Events for clients that cannot use WebSockets.

- ``POST /api/invoke``: the same JSON a WebSocket client would send; the answer is the run's
  terminal frame in the dialect (``?dialect=``, default the app's): 200 when it finished, 400/422
  for a bad request, 500 when the run failed. A reply route answers its reply.
- ``POST /api/runs`` starts a run from the same JSON and answers ``{"runId", "events"}``;
  ``GET /api/runs/{id}/events`` streams it with ``id:`` = ``seq`` and resumes after
  ``Last-Event-ID`` (header, or ``?lastEventId=``). The stream ends after the run's terminal
  event. In a cluster any node serves it: a run held by another node (or by none any more) is
  read from its log in Redis by the cluster's follower (:mod:`agentstream.cluster.remote`).
  Runs belong to the user who started them
  (:func:`~agentstream.gateway.credentials.user_of`); anyone else gets 404, as for an unknown id.
  The default dialect here is ``ag-ui``.

Every door parses with :mod:`~agentstream.gateway.messages` and acts through
:class:`~agentstream.gateway.dispatch.Dispatcher`, as the WebSocket does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from agentstream.errors import AgentstreamError
from agentstream.gateway.credentials import user_of
from agentstream.gateway.dispatch import Dispatcher, error_answer
from agentstream.gateway.messages import (
    MAX_SEQ,
    BadMessage,
    Reply,
    StartRun,
    UnknownAction,
    parse,
)
from agentstream.gateway.metrics import Metrics
from agentstream.protocol.codec import dumps, frame_text
from agentstream.protocol.control import Control, ResumeAnswer, control_frame
from agentstream.protocol.dialects import Dialect, UnknownDialect, get_dialect
from agentstream.protocol.events import Event, is_terminal
from agentstream.runs.log import LogGap
from agentstream.runs.run import Run
from agentstream.runs.state import RunState

logger = logging.getLogger(__name__)

SSE_DIALECT = "ag-ui"
_SEQ = re.compile(r"[0-9]{1,19}")
KEEPALIVE_S = 15.0
# Put after the last item by a follower that is done.
FOLLOWED = object()
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def dispatcher_of(request: Request) -> Dispatcher:
    """The dispatcher serving ``request`` (set on the ASGI app by ``create_app``)."""
    return cast(Dispatcher, request.app.state.dispatcher)


@dataclass
class Collector:
    """A peer for callers that cannot stream: keeps the last frame, rendered in a dialect."""

    dialect: Dialect
    user: str
    connection_id: str = "http"
    runs: set[str] = field(default_factory=set)
    last: dict[str, Any] = field(default_factory=dict)

    def deliver(self, event: Event) -> None:
        """Keep ``event`` as the last frame."""
        self.last = self.dialect.render(event)

    def answer(self, control: Control) -> None:
        """Keep a control answer (a reply route's result) as the last frame."""
        self.last = self.dialect.render_control(control)


async def invoke_raw(
    dispatcher: Dispatcher,
    raw: bytes,
    collector: Collector,
    *,
    default_action: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Act on one HTTP message and wait: the frame to answer and its HTTP status.

    A run answers its terminal frame in the collector's dialect; a reply route answers its
    reply as the handler returned it; a bad message or a refused reply answers the dialect's
    error frame with the error's ``http_status``.
    """
    try:
        command = parse(
            raw,
            dispatcher.app,
            max_bytes=dispatcher.settings.max_message_bytes,
            default_action=default_action,
        )
        if isinstance(command, Reply):
            reply = await dispatcher.run_reply(command, collector.user, collector.connection_id)
            return reply, 400 if reply.get("type") == "error" else 200
        if not isinstance(command, StartRun):
            raise UnknownAction(f"{type(command).__name__.lower()} needs a WebSocket or SSE")
        run = dispatcher.launch(
            command, collector.user, collector.connection_id, subscriber=collector
        )
    except AgentstreamError as exc:
        return collector.dialect.render_control(error_answer(exc)), exc.http_status
    try:
        await run.wait()
    except BaseException:
        run.cancel("the HTTP caller went away")
        raise
    return collector.last, 200 if run.state is RunState.FINISHED else 500


async def invoke(request: Request) -> Response:
    """``POST /api/invoke``: run an action for a caller that cannot stream; answer its last frame.

    The body is the same JSON a WebSocket client would send; identity and ``?dialect=``
    work as on ``/ws``. The answer is the run's terminal frame in that dialect (HTTP 200 when
    it finished, 400/422 for a bad request, 500 when the run failed).
    """
    dispatcher = dispatcher_of(request)
    try:
        dialect = get_dialect(request.query_params.get("dialect") or dispatcher.app.dialect)
    except UnknownDialect as exc:
        return JSONResponse({"type": "error", "message": str(exc), "code": exc.code}, 400)
    collector = Collector(dialect, user_of(request))
    frame, status = await invoke_raw(dispatcher, await request.body(), collector)
    return JSONResponse(frame, status, headers=retry_headers(frame))


def retry_headers(frame: dict[str, Any]) -> dict[str, str] | None:
    """``Retry-After`` for a frame refused by a rate limit (it carries ``retryAfter``)."""
    retry_after = frame.get("retryAfter")
    return {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None


@dataclass
class _Sink:
    """A run subscriber feeding one SSE response."""

    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)

    def deliver(self, event: Event) -> None:
        self.queue.put_nowait(event)


def _frame(dialect: Dialect, event: Event) -> str:
    """One SSE event, sharing the event's encoding with every socket and the recorder."""
    return f"id: {event.seq}\ndata: {frame_text(event, dialect.name, dialect.render)}\n\n"


async def event_stream(
    run: Run, dialect: Dialect, after: int, dispatcher: Dispatcher
) -> AsyncIterator[str]:
    """``run`` as SSE text after seq ``after``: ``id:`` = seq, to the terminal event.

    Replays what the log holds, then follows live; the run is attached while a reader streams
    and detached (the grace period starts) when it goes.
    """
    sink = _Sink()
    try:
        run.subscribe(sink, after_seq=after)
    except LogGap as exc:
        yield f"event: error\ndata: {dumps(dialect.render_error(str(exc), 'expired'))}\n\n"
        return
    if run.finished and sink.queue.empty():
        # Resumed at or past the end of a finished run: nothing is left to send.
        return
    dispatcher.runs.attached(run)
    metrics = dispatcher.metrics
    try:
        while True:
            try:
                event = await asyncio.wait_for(sink.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _frame(dialect, event)
            if metrics is not None:  # SSE frames count as sent, like a socket's
                metrics.sent(dialect.name, 1)
            if is_terminal(event):
                return
    finally:
        run.unsubscribe(sink)
        dispatcher.runs.detached(run)


async def start_run(request: Request) -> Response:
    """``POST /api/runs``: start a run; stream it from the returned ``events`` URL."""
    dispatcher = dispatcher_of(request)
    try:
        command = parse(
            await request.body(), dispatcher.app, max_bytes=dispatcher.settings.max_message_bytes
        )
    except BadMessage as exc:
        return JSONResponse({"message": str(exc), "code": exc.code}, exc.http_status)
    if not isinstance(command, StartRun):
        action = command.action if isinstance(command, Reply) else type(command).__name__.lower()
        return JSONResponse(
            {
                "message": f"no streaming action {action!r}",
                "code": UnknownAction.code,
                "actions": dispatcher.app.actions,
            },
            400,
        )
    try:
        run = dispatcher.launch(command, user_of(request), "sse")
    except AgentstreamError as exc:
        frame = control_frame(error_answer(exc))
        del frame["type"]
        return JSONResponse(frame, exc.http_status, headers=retry_headers(frame))
    # Nobody is attached yet: the detach grace applies until a client opens the event stream.
    dispatcher.runs.detached(run)
    # root_path: the prefix the app is mounted under (agentstream.mount, or a proxy's).
    events = f"{request.scope.get('root_path', '')}/api/runs/{run.id}/events"
    return JSONResponse({"runId": run.id, "events": events}, 201)


def last_event_id(request: Request) -> int | None:
    """The seq to resume after (``Last-Event-ID`` or ``?lastEventId=``), None when malformed.

    Only ASCII digits count (``str.isdigit`` accepts other scripts' digits), and at most 19 of
    them below 2**63, so a 5000-digit id is a 400, never a 500.
    """
    last = request.headers.get("last-event-id") or request.query_params.get("lastEventId") or "0"
    if not _SEQ.fullmatch(last):
        return None
    value = int(last)
    return value if value <= MAX_SEQ else None


@dataclass
class _RemoteSink:
    """A peer for the cluster's follower: the resume answer, then the events, for one SSE reader."""

    user: str
    connection_id: str = "sse"
    runs: set[str] = field(default_factory=set)
    queue: asyncio.Queue[Event | Control | object] = field(default_factory=asyncio.Queue)
    # Set when the reader goes: the follower stops at its next look (see cluster.remote).
    closed: bool = False

    def deliver(self, event: Event) -> None:
        self.queue.put_nowait(event)

    def answer(self, control: Control) -> None:
        self.queue.put_nowait(control)


async def remote_stream(
    sink: _RemoteSink, dialect: Any, metrics: Metrics | None = None
) -> AsyncIterator[str]:
    """What the follower hands ``sink`` as SSE text, to the terminal event or a final answer."""
    try:
        while True:
            try:
                item = await asyncio.wait_for(sink.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is FOLLOWED:
                return
            if isinstance(item, Control):  # the log ran out or the store failed: say so, end
                message = getattr(item, "message", None) or "the run cannot be followed"
                code = str(getattr(item, "state", "error"))
                yield f"event: error\ndata: {dumps(dialect.render_error(message, code))}\n\n"
                return
            assert isinstance(item, Event)
            yield _frame(dialect, item)
            if metrics is not None:
                metrics.sent(dialect.name, 1)
            if is_terminal(item):
                return
    finally:
        sink.closed = True


async def remote_events(
    dispatcher: Dispatcher,
    run_id: str,
    user: str,
    dialect: Any,
    after: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """A run this node does not hold, followed from its log in the cluster's Redis."""
    sink = _RemoteSink(user)
    assert dispatcher.remote is not None
    # The same follower a WebSocket resume uses; it answers first, then delivers.
    follower = await dispatcher.remote.resume(run_id, after, sink, None)
    if follower is not None:  # it may end with nothing to send (the reader has the end): stop
        follower.add_done_callback(lambda _: sink.queue.put_nowait(FOLLOWED))
    first = sink.queue.get_nowait() if not sink.queue.empty() else None
    if not isinstance(first, ResumeAnswer) or first.state == "unknown":
        sink.closed = True
        return _unknown_run()
    return StreamingResponse(
        remote_stream(sink, dialect, dispatcher.metrics),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **(headers or {})},
    )


def _unknown_run() -> Response:
    return JSONResponse({"message": "no such run", "code": "unknown_run"}, 404)


async def run_events(request: Request) -> Response:
    """``GET /api/runs/{run_id}/events``: the run as Server-Sent Events (from any node)."""
    dispatcher = dispatcher_of(request)
    run_id = request.path_params["run_id"]
    run = dispatcher.runs.get(run_id, user_of(request))
    if run is None and dispatcher.remote is None:
        return _unknown_run()
    try:
        dialect = get_dialect(request.query_params.get("dialect") or SSE_DIALECT)
    except UnknownDialect as exc:
        return JSONResponse({"message": str(exc), "code": exc.code}, 400)
    after = last_event_id(request)
    if after is None:
        return JSONResponse(
            {"message": "Last-Event-ID must be a seq number", "code": "bad_request"}, 400
        )
    if run is None:
        return await remote_events(dispatcher, run_id, user_of(request), dialect, after)
    return StreamingResponse(
        event_stream(run, dialect, after, dispatcher),
        media_type="text/event-stream",
        headers=dict(SSE_HEADERS),
    )
