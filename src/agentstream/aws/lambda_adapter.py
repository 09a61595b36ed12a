"""One Lambda entry point that serves an agentstream app behind an API Gateway WebSocket API.

``handler = lambda_handler(app)`` (or :mod:`agentstream.aws.handler` with
``AGENTSTREAM_APP=calledit`` / ``module:app``) serves every route of the API with the gateway's
own code:

- ``$connect`` records the connection (DynamoDB, with TTL) and its dialect, runs the app's
  connect hooks, and accepts the client's subprotocol when it offered one;
- ``$disconnect`` runs the disconnect hooks and deletes the row;
- any other route (``$default`` or an action) is parsed by
  :func:`agentstream.gateway.messages.parse` and acted on by the
  :class:`~agentstream.aws.dispatcher.AwsDispatcher`; answers are posted through the
  :class:`~agentstream.aws.sender.Sender`;
- an HTTP API request (the real-estate seed's one handler serves both APIs) is answered like
  ``POST /api/invoke``: the run's last frame, or the reply;
- a run is not produced here: the message is handed to a worker (an asynchronous invocation of
  this function, see :mod:`agentstream.aws.launch`), so API Gateway's 29 s integration timeout
  never cuts a stream. The worker's event is ``{"agentstream": "run", ...}``; API Gateway's
  events always carry a ``requestContext`` instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from agentstream.aws.dispatcher import AwsDispatcher
from agentstream.aws.emf import Emf
from agentstream.aws.events import WsEvent, read_event
from agentstream.aws.fanout import Fanout
from agentstream.aws.http_events import HttpEvent, is_http, read_http
from agentstream.aws.launch import Launcher, default_launcher
from agentstream.aws.live import LiveRuns, Subscription
from agentstream.aws.peer import LambdaPeer
from agentstream.aws.sender import Sender, management_client
from agentstream.errors import AgentstreamError
from agentstream.gateway.dispatch import error_answer
from agentstream.gateway.http import Collector, invoke_raw
from agentstream.gateway.messages import BadMessage, StartRun, parse
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.codec import dumps
from agentstream.protocol.control import ErrorAnswer
from agentstream.protocol.dialects import Dialect, UnknownDialect, get_dialect
from agentstream.stores.dynamodb_base import DynamoDBBase

logger = logging.getLogger(__name__)

WORKER_KEY = "agentstream"
OK = {"statusCode": 200}
JSON_HEADERS = {"Content-Type": "application/json"}
# HTTP callers are answered in the response; nothing is posted to a WebSocket client.
_NO_SENDER: Any = None


def _window_s() -> float:
    return float(os.environ.get("AGENTSTREAM_AWS_COALESCE_MS", "100")) / 1000


class LambdaAdapter:
    """The Lambda handler of one app (call it with ``(event, context)``)."""

    def __init__(
        self,
        app: AgentApp,
        settings: Settings | None = None,
        *,
        launcher: Launcher | None = None,
        window_s: float | None = None,
        emf: Emf | None = None,
    ) -> None:
        """Serve ``app``; the store comes from ``settings.store`` (a ``dynamodb://`` URL)."""
        self.app = app
        self.emf = emf or Emf(app.name)
        self.settings = settings or Settings()
        self.launcher = launcher or default_launcher(self)
        self.window_s = _window_s() if window_s is None else window_s
        self._store: Any = None
        self._live: LiveRuns | None = None
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda entry point."""
        return asyncio.run(self.handle(event))

    async def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Serve one event: a worker payload or an API Gateway WebSocket event."""
        await self.open()
        if event.get(WORKER_KEY) == "run":
            await self.work(event)
            return OK
        if is_http(event):
            return await self.http(read_http(event))
        try:
            ws = read_event(event)
        except ValueError as exc:
            logger.warning("event refused: %s", exc)
            return {"statusCode": 400, "body": str(exc)}
        if ws.route_key == "$connect":
            return await self.connect(ws)
        if ws.route_key == "$disconnect":
            await self.disconnect(ws)
            return OK
        await self.message(ws)
        return OK

    # -- plumbing ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the store and the live runs table (once per container)."""
        # A thread lock, not an asyncio one: worker threads run their own event loops. Held
        # across the awaits on purpose, so no thread uses a half-opened store.
        with self._open_lock:
            if self._live is not None:
                return
            from agentstream.stores import open_store

            store = open_store(self.settings.store or "dynamodb://")
            await store.open()
            if not isinstance(store, DynamoDBBase):
                raise AgentstreamError("the Lambda adapter needs a dynamodb:// store")
            live = LiveRuns(store, ttl_s=self.settings.run_ttl_s)
            await live.open()
            self._store, self._live = store, live

    @property
    def store(self) -> Any:
        """The opened store."""
        return self._store

    @property
    def live(self) -> LiveRuns:
        """The ``live_runs`` table."""
        assert self._live is not None, "the adapter is not open"
        return self._live

    def sender(self, endpoint: str) -> Sender:
        """The sender posting to ``endpoint`` (one client per endpoint, reused)."""
        with self._lock:
            if endpoint not in self._senders:
                self._senders[endpoint] = Sender(management_client(endpoint))
            return self._senders[endpoint]

    def dispatcher(self, endpoint: str) -> AwsDispatcher:
        """A dispatcher for one invocation."""
        return AwsDispatcher(
            self.app, self.settings, store=self.store, live=self.live, sender=self.sender(endpoint)
        )

    # -- routes --------------------------------------------------------------------------------

    def _dialect_of(self, ws: WsEvent) -> tuple[Dialect, bool]:
        """The dialect the client asked for, and whether it was offered as a subprotocol."""
        wanted = ws.query.get("dialect")
        if wanted:
            return get_dialect(wanted), False
        for offered in ws.protocols:
            try:
                return get_dialect(offered), True
            except UnknownDialect:
                continue
        return get_dialect(self.app.dialect), False

    async def connect(self, ws: WsEvent) -> dict[str, Any]:
        """``$connect``: record the connection and run the app's connect hooks."""
        try:
            dialect, offered = self._dialect_of(ws)
        except UnknownDialect as exc:
            return {"statusCode": 400, "body": str(exc)}
        meta = {"dialect": dialect.name}
        await self.store.put_connection(
            ws.connection_id, ws.user, time.time(), self.settings.connection_ttl_s, meta
        )
        ctx = self.dispatcher(ws.endpoint).reply_context(ws.user, ws.connection_id)
        for hook in self.app.on_connect:
            await hook(ctx)
        logger.info("conn=%s user=%s dialect=%s | connected", ws.connection_id, ws.user, meta)
        self.emf.connected()
        if offered:
            return {**OK, "headers": {"Sec-WebSocket-Protocol": dialect.name}}
        return dict(OK)

    async def disconnect(self, ws: WsEvent) -> None:
        """``$disconnect``: run the disconnect hooks and delete the connection row."""
        ctx = self.dispatcher(ws.endpoint).reply_context(ws.user, ws.connection_id)
        for hook in self.app.on_disconnect:
            try:
                await hook(ctx)
            except Exception:  # an app's hook bug must not keep the row alive
                logger.exception("conn=%s | $disconnect hook failed", ws.connection_id)
        await self.store.delete_connection(ws.connection_id)
        logger.info("conn=%s | disconnected", ws.connection_id)
        self.emf.disconnected()

    async def _peer(self, connection_id: str, user: str) -> LambdaPeer:
        row = await self.store.get_connection(connection_id)
        name = str(row.meta.get("dialect", "")) if row is not None else ""
        try:
            dialect = get_dialect(name or self.app.dialect)
        except UnknownDialect:
            dialect = get_dialect(self.app.dialect)
        return LambdaPeer(connection_id, user, dialect)

    async def message(self, ws: WsEvent) -> None:
        """A message: parse it as the gateway does; start runs elsewhere, answer the rest."""
        peer = await self._peer(ws.connection_id, ws.user)
        dispatcher = self.dispatcher(ws.endpoint)
        try:
            command = parse(ws.body or "", self.app, max_bytes=self.settings.max_message_bytes)
        except BadMessage as exc:
            peer.answer(ErrorAnswer(message=str(exc), code=exc.code, request_id=exc.request_id))
        else:
            if isinstance(command, StartRun):
                self.launcher.launch(self._payload(ws, peer))
            else:
                try:
                    await dispatcher.dispatch(command, peer)
                except AgentstreamError as exc:
                    peer.answer(error_answer(exc, command.request_id))
                except Exception as exc:  # a handler bug must not go unanswered
                    logger.exception("conn=%s | handler failed", ws.connection_id)
                    peer.answer(_internal(exc, command.request_id))
        if not await peer.flush(dispatcher.sender):
            await self.store.delete_connection(ws.connection_id)

    def _payload(self, ws: WsEvent, peer: LambdaPeer) -> dict[str, Any]:
        return {
            WORKER_KEY: "run",
            "body": ws.body or "",
            "connectionId": ws.connection_id,
            "user": ws.user,
            "endpoint": ws.endpoint,
            "dialect": peer.dialect.name,
        }

    async def http(self, request: HttpEvent) -> dict[str, Any]:
        """An HTTP API request: answered like ``POST /api/invoke`` (the run's last frame)."""
        if request.method != "POST":
            body = {"type": "error", "message": "POST the message as JSON", "code": "bad_request"}
            return {"statusCode": 405, "headers": JSON_HEADERS, "body": dumps(body)}
        try:
            dialect = get_dialect(request.query.get("dialect") or self.app.dialect)
        except UnknownDialect as exc:
            body = {"type": "error", "message": str(exc), "code": exc.code}
            return {"statusCode": 400, "headers": JSON_HEADERS, "body": dumps(body)}
        dispatcher = AwsDispatcher(
            self.app, self.settings, store=self.store, live=self.live, sender=_NO_SENDER
        )
        collector = Collector(dialect, request.user)
        frame, status = await invoke_raw(dispatcher, request.body, collector)
        return {"statusCode": status, "headers": JSON_HEADERS, "body": dumps(frame)}

    # -- the worker ----------------------------------------------------------------------------

    async def work(self, payload: dict[str, Any]) -> None:
        """Produce one run and stream it to its subscribers until it ends."""
        connection_id, user = str(payload["connectionId"]), str(payload["user"])
        peer = LambdaPeer(connection_id, user, get_dialect(str(payload["dialect"])))
        dispatcher = self.dispatcher(str(payload["endpoint"]))
        command = parse(str(payload["body"]), self.app, max_bytes=self.settings.max_message_bytes)
        assert isinstance(command, StartRun), "a worker payload starts a run"
        try:
            run = dispatcher.launch(command, user, connection_id)
        except AgentstreamError as exc:
            peer.answer(error_answer(exc, command.request_id))
            await peer.flush(dispatcher.sender)
            return
        ended: list[float] = []
        run.on_end(lambda _: ended.append(time.time()))  # before serve(): the run has not run yet
        first = Subscription(connection_id, 0, peer.dialect.name)
        await self.live.create(run.id, user, first)
        fanout = Fanout(
            run,
            self.live,
            dispatcher.sender,
            store=self.store,
            window_s=self.window_s,
            detach_grace_s=self.settings.detach_grace_s,
        )
        await fanout.serve()
        logger.info("run=%s | produced in %d flushes", run.id, fanout.flushes)
        self._report(run, fanout, ended[0] if ended else time.time())

    def _report(self, run: Any, fanout: Fanout, ended_at: float) -> None:
        """The run's EMF line: end state, frames posted, first-frame and run seconds."""
        first_post = fanout.first_post_at
        self.emf.run_ended(
            run.id,
            run.state.value,
            run_seconds=ended_at - run.started_at,
            first_event_seconds=None if first_post is None else first_post - run.started_at,
            events_sent=fanout.frames_posted,
        )


def _internal(exc: Exception, request_id: Any) -> ErrorAnswer:
    message = f"internal error: {type(exc).__name__}"
    return ErrorAnswer(message=message, code="internal_error", request_id=request_id)


def lambda_handler(app: AgentApp, settings: Settings | None = None) -> LambdaAdapter:
    """Build the Lambda handler serving ``app`` (assign it to a module-level ``handler``)."""
    return LambdaAdapter(app, settings)
