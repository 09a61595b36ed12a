"""The ASGI app: the ``/ws`` WebSocket API with API Gateway semantics, pages and health.

Each message is routed by its ``action``. A message that is not JSON, has no known action or fails
validation gets an error frame naming the problem, and the socket stays usable.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from agentstream.gateway import sse
from agentstream.gateway.connections import Connection
from agentstream.gateway.context import RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.routes import Route as AppRoute
from agentstream.gateway.settings import Settings
from agentstream.protocol.codec import DecodeError, loads
from agentstream.protocol.dialects import UnknownDialect, get_dialect
from agentstream.protocol.events import is_terminal
from agentstream.runs.log import LogGap
from agentstream.runs.recorder import RunRecorder, stored_events
from agentstream.runs.registry import RunRegistry
from agentstream.runs.run import Run

logger = logging.getLogger(__name__)

WEB_STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


class BadMessage(ValueError):
    """A client message the gateway cannot act on; ``code`` goes in the error frame."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        """Say what is wrong."""
        super().__init__(message)
        self.code = code


def validation_message(exc: ValidationError) -> str:
    """One line naming each field that failed and why."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "invalid request: " + "; ".join(parts)


class Gateway:
    """Holds the app, its settings, the live runs and connections."""

    def __init__(self, app: AgentApp, settings: Settings) -> None:
        """Serve ``app`` with ``settings``."""
        self.app = app
        self.settings = settings
        self.runs = RunRegistry(detach_grace=settings.detach_grace_s)
        self.connections: dict[str, Connection] = {}
        self.services: dict[str, Any] = {"gateway": self}

    # -- WebSocket ------------------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        """Serve one socket from ``$connect`` to ``$disconnect``."""
        try:
            dialect = get_dialect(self._dialect_name(ws))
        except UnknownDialect as exc:
            # Accept first: a close before accepting is an HTTP 403 with no reason for the client.
            await ws.accept()
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        subprotocol = dialect.name if dialect.name in _offered(ws) else None
        await ws.accept(subprotocol=subprotocol)
        user = ws.query_params.get("user") or "anonymous"
        conn = Connection(
            ws,
            user=user,
            dialect=dialect,
            queue_size=self.settings.send_queue_frames,
            coalesce_s=_coalesce(ws, self.settings.coalesce_s),
        )
        conn.start()
        self.connections[conn.id] = conn
        ctx = self._context(conn)
        logger.info("conn=%s user=%s dialect=%s | connected", conn.id, user, dialect.name)
        await self._record_connection(conn, dialect.name)
        try:
            for hook in self.app.on_connect:
                await hook(ctx)
            await self._receive_loop(ws, conn)
        finally:
            await self._disconnect(conn, ctx)

    async def _record_connection(self, conn: Connection, dialect: str) -> None:
        store = self.services.get("store")
        if store is None:
            return
        try:
            await store.put_connection(
                conn.id,
                conn.user,
                time.time(),
                self.settings.connection_ttl_s,
                {"dialect": dialect},
            )
        except Exception:  # the socket works without its row; say so and go on
            logger.warning("conn=%s | could not record the connection", conn.id, exc_info=True)

    def _dialect_name(self, ws: WebSocket) -> str:
        wanted = ws.query_params.get("dialect")
        if wanted:
            return wanted
        for offered in _offered(ws):
            with contextlib.suppress(UnknownDialect):
                return get_dialect(offered).name
        return self.app.dialect

    async def _receive_loop(self, ws: WebSocket, conn: Connection) -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                await self.handle(conn, raw)
            except BadMessage as exc:
                conn.error(str(exc), exc.code, **_request_id(raw))
            except Exception as exc:  # a handler bug must not take the socket down with it
                logger.exception("conn=%s | handler failed", conn.id)
                conn.error(
                    f"internal error: {type(exc).__name__}", "internal_error", **_request_id(raw)
                )

    async def _disconnect(self, conn: Connection, ctx: RouteContext) -> None:
        self.connections.pop(conn.id, None)
        for run_id in conn.runs:
            run = self.runs.get(run_id, conn.user)
            if run is not None:
                run.unsubscribe(conn)
                self.runs.detached(run)
        for hook in self.app.on_disconnect:
            try:
                await hook(ctx)
            except Exception:
                logger.exception("conn=%s | $disconnect hook failed", conn.id)
        store = self.services.get("store")
        if store is not None:
            try:
                await store.delete_connection(conn.id)
            except Exception:
                logger.warning(
                    "conn=%s | could not delete the connection row", conn.id, exc_info=True
                )
        await conn.stop()
        logger.info("conn=%s | disconnected", conn.id)

    # -- messages -------------------------------------------------------------------------------

    async def handle(self, conn: Connection, raw: str | bytes) -> None:
        """Route one client message."""
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > self.settings.max_message_bytes:
            raise BadMessage(
                f"message too large: {size} bytes (limit {self.settings.max_message_bytes})",
                "message_too_large",
            )
        try:
            body = loads(raw)
        except DecodeError as exc:
            raise BadMessage(str(exc), "invalid_json") from None
        if not isinstance(body, dict):
            raise BadMessage("a message must be a JSON object with an 'action' field")
        action = body.get("action")
        if action == "cancel":
            self._cancel(conn, body)
        elif action == "resume":
            await self._resume(conn, body)
        elif action == "ping":
            conn.send({"type": "pong", "requestId": body.get("requestId")})
        else:
            await self._route(conn, action, body)

    def _selected(self, action: object) -> AppRoute:
        route = self.app.select(action)
        if route is None:
            known = ", ".join(self.app.actions)
            if action is None:
                raise BadMessage(f"missing 'action' (one of: {known})", "unknown_action")
            raise BadMessage(f"unknown action {action!r} (one of: {known})", "unknown_action")
        return route

    async def _route(self, conn: Connection, action: object, body: dict[str, Any]) -> None:
        route = self._selected(action)
        fields = {k: v for k, v in body.items() if k not in ("action", "requestId")}
        try:
            request = route.request.model_validate(fields)
        except ValidationError as exc:
            raise BadMessage(validation_message(exc), "invalid_request") from None
        request_id = body.get("requestId")
        ctx = self._context(conn)
        ctx.action = action if isinstance(action, str) else None
        if not route.streams:
            reply = await route.handler(request, ctx)  # type: ignore[misc]
            conn.send({"type": f"{route.action}_result", "requestId": request_id, **(reply or {})})
            return
        self.start_run(conn, route, request, ctx, request_id)

    def start_run(
        self,
        conn: Connection,
        route: AppRoute,
        request: Any,
        ctx: RouteContext,
        request_id: object = None,
    ) -> Run:
        """Start a run for ``request`` and stream it to ``conn``."""
        run = self.launch(route, request, ctx, subscriber=conn, request_id=request_id)
        conn.runs.add(run.id)
        logger.info("conn=%s run=%s action=%s | run started", conn.id, run.id, route.action)
        return run

    def launch(
        self,
        route: AppRoute,
        request: Any,
        ctx: RouteContext,
        *,
        subscriber: Any = None,
        request_id: object = None,
    ) -> Run:
        """Create, register, record and start a run of ``route`` for ``ctx.user``."""
        run = Run(owner=ctx.user, app=self.app.name, log_capacity=self.settings.log_capacity)
        ctx.run = run
        self.runs.add(run)
        if subscriber is not None:
            run.subscribe(subscriber)
        store = self.services.get("store")
        if store is not None:
            RunRecorder(store, run, ttl_s=self.settings.run_ttl_s).start()
        started_with = {
            "action": route.action,
            "requestId": request_id,
            **request.model_dump(mode="json"),
        }
        run.start(
            lambda _run: route.handler(request, ctx),  # type: ignore[arg-type,return-value]
            input=started_with,
        )
        return run

    def _run_for(self, conn: Connection, body: dict[str, Any]) -> tuple[str, Run | None]:
        run_id = body.get("runId")
        if not isinstance(run_id, str) or not run_id:
            raise BadMessage(f"{body.get('action')}: 'runId' must be a non-empty string")
        return run_id, self.runs.get(run_id, conn.user)

    def _cancel(self, conn: Connection, body: dict[str, Any]) -> None:
        run_id, run = self._run_for(conn, body)
        if run is None:
            conn.send(
                {"type": "cancel", "runId": run_id, "state": "unknown", "message": "no such run"}
            )
            return
        accepted = run.cancel()
        conn.send(
            {
                "type": "cancel",
                "runId": run_id,
                "state": "cancelling" if accepted else run.state.value,
                "message": "cancelling" if accepted else f"run already {run.state.value}",
            }
        )

    async def _resume(self, conn: Connection, body: dict[str, Any]) -> None:
        run_id, run = self._run_for(conn, body)
        last_seq = body.get("lastSeq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise BadMessage("resume: 'lastSeq' must be a non-negative integer")
        if run is None:
            await self._resume_from_store(conn, run_id, last_seq)
            return
        state = run.state.value
        # Send the answer first; subscribe() then replays and attaches in one synchronous step.
        conn.send({"type": "resume", "runId": run_id, "state": state, "lastSeq": last_seq})
        try:
            run.subscribe(conn, after_seq=last_seq)
        except LogGap as exc:
            conn.send({"type": "resume", "runId": run_id, "state": "expired", "message": str(exc)})
            return
        conn.runs.add(run.id)
        self.runs.attached(run)

    async def _resume_from_store(self, conn: Connection, run_id: str, last_seq: int) -> None:
        """Replay a run this process no longer holds (finished long ago, or before a restart)."""
        store = self.services.get("store")
        row = await store.get_run(run_id) if store is not None else None
        if row is None or row.owner != conn.user:
            conn.send({"type": "resume", "runId": run_id, "state": "unknown", "lastSeq": last_seq})
            return
        events = await stored_events(store, run_id, last_seq)
        # A run recorded as running that no process holds was cut off by a restart; one whose
        # recorded log stops before its end (longer than the store keeps) cannot be replayed whole.
        complete = (
            bool(events) and is_terminal(events[-1]) or (not events and row.state != "running")
        )
        state = row.state if complete and row.state != "running" else "expired"
        conn.send({"type": "resume", "runId": run_id, "state": state, "lastSeq": last_seq})
        for event in events:
            conn.deliver(event)

    def _context(self, conn: Connection) -> RouteContext:
        return RouteContext(
            connection_id=conn.id, user=conn.user, settings=self.settings, services=self.services
        )

    # -- HTTP -----------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        """The app's page."""
        if self.app.static_dir is not None and (self.app.static_dir / "index.html").is_file():
            return FileResponse(self.app.static_dir / "index.html")
        return PlainTextResponse(f"{self.app.name}: WebSocket API at /ws\n")

    async def invoke(self, request: Request) -> Response:
        """Plain HTTP for callers that cannot stream: run an action and answer its last frame.

        The body is the same JSON a WebSocket client would send; ``?user=`` and ``?dialect=``
        work as on ``/ws``. The answer is the run's terminal frame in that dialect (HTTP 200 when
        it finished, 422 for a bad request, 500 when the run failed).
        """
        user = request.query_params.get("user") or request.headers.get("x-user") or "anonymous"
        try:
            dialect = get_dialect(request.query_params.get("dialect") or self.app.dialect)
        except UnknownDialect as exc:
            return JSONResponse({"type": "error", "message": str(exc), "code": "bad_request"}, 400)
        collector = _Collector(dialect)
        try:
            body = loads(await request.body())
            if not isinstance(body, dict):
                raise BadMessage("a message must be a JSON object with an 'action' field")
            route = self._selected(body.get("action"))
            fields = {k: v for k, v in body.items() if k not in ("action", "requestId")}
            payload = route.request.model_validate(fields)
        except DecodeError as exc:
            return JSONResponse(dialect.render_error(str(exc), "invalid_json"), 400)
        except BadMessage as exc:
            return JSONResponse(dialect.render_error(str(exc), exc.code), 400)
        except ValidationError as exc:
            return JSONResponse(
                dialect.render_error(validation_message(exc), "invalid_request"), 422
            )
        ctx = RouteContext(
            connection_id="http",
            user=user,
            settings=self.settings,
            services=self.services,
            action=body.get("action"),
        )
        if not route.streams:
            try:
                reply = await route.handler(payload, ctx)  # type: ignore[misc]
            except BadMessage as exc:
                status = int(getattr(exc, "http_status", 400))
                return JSONResponse(dialect.render_error(str(exc), exc.code), status)
            is_error = isinstance(reply, dict) and reply.get("type") == "error"
            return JSONResponse(reply or {}, 400 if is_error else 200)
        run = self.launch(route, payload, ctx, subscriber=collector)
        try:
            await run.wait()
        except BaseException:
            run.cancel("the HTTP caller went away")
            raise
        status = 200 if run.state.value == "finished" else 500
        return JSONResponse(collector.last, status)

    async def healthz(self, request: Request) -> Response:
        """Liveness and a few gauges."""
        return JSONResponse(
            {
                "status": "ok",
                "app": self.app.name,
                "model": self.settings.model,
                "connections": len(self.connections),
                "activeRuns": len(self.runs.active()),
            }
        )


class _Collector:
    """Keeps the last frame of a run rendered in a dialect (for plain HTTP callers)."""

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect
        self.last: dict[str, Any] = {}

    def deliver(self, event: Any) -> None:
        self.last = self.dialect.render(event)


def _request_id(raw: str | bytes) -> dict[str, Any]:
    """``{"requestId": …}`` from a client message, when it has one, for its error frame."""
    try:
        body = loads(raw)
    except DecodeError:
        return {}
    if isinstance(body, dict) and isinstance(body.get("requestId"), str | int):
        return {"requestId": body["requestId"]}
    return {}


def _coalesce(ws: WebSocket, default: float) -> float:
    """The client's ``?coalesce=<ms>`` (bounded to 0..1000 ms), else the server default."""
    try:
        wanted = float(ws.query_params.get("coalesce", ""))
    except ValueError:
        return default
    return min(max(wanted, 0.0), 1000.0) / 1000


def _offered(ws: WebSocket) -> list[str]:
    header = ws.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def create_app(app: AgentApp, settings: Settings | None = None) -> Starlette:
    """The ASGI application serving ``app``."""
    gateway = Gateway(app, settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        store = None
        if gateway.settings.store != "none":
            from agentstream.stores import open_store

            store = open_store(gateway.settings.store)
            await store.open()
            gateway.services["store"] = store
        try:
            yield
        finally:
            await gateway.runs.cancel_all()
            if store is not None:
                await store.close()

    routes: list[Any] = [
        Route("/", gateway.index),
        Route("/healthz", gateway.healthz),
        Route("/api/invoke", gateway.invoke, methods=["POST"]),
        Route("/api/runs", sse.start_run, methods=["POST"]),
        Route("/api/runs/{run_id}/events", sse.run_events),
        *(WebSocketRoute(path, gateway.websocket) for path in app.ws_paths),
        *app.http_routes,
    ]
    if WEB_STATIC.is_dir():
        routes.append(Mount("/static", StaticFiles(directory=WEB_STATIC), name="static"))
    if app.static_dir is not None and app.static_dir.is_dir():
        routes.append(Mount("/app", StaticFiles(directory=app.static_dir), name="app"))
    asgi = Starlette(routes=routes, lifespan=lifespan)
    asgi.state.gateway = gateway
    return asgi
