"""The ASGI app: the ``/ws`` WebSocket API with API Gateway semantics, HTTP doors, pages, health.

Each WebSocket message is parsed (:mod:`~agentstream.gateway.messages`) and acted on by the
:class:`~agentstream.gateway.dispatch.Dispatcher`, as every HTTP door does. A message that is not
JSON, has no known action or fails validation gets an error frame naming the problem (with the
message's ``requestId``), and the socket stays usable. A message over the size limit (128 KB)
closes the socket with 1009 (message too big), as API Gateway does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from agentstream.errors import AgentstreamError
from agentstream.gateway import agui_http, aisdk_http, cancel_http, http
from agentstream.gateway.auth import build_auth, quick_auth
from agentstream.gateway.bodies import BodyGuard
from agentstream.gateway.connection_rows import ConnectionRows
from agentstream.gateway.connections import Connection
from agentstream.gateway.context import ReplyContext, Services
from agentstream.gateway.credentials import (
    IdentityCookie,
    credentials_of,
    install_redaction,
    set_cookie_header,
)
from agentstream.gateway.dispatch import Dispatcher, error_answer
from agentstream.gateway.identity import (
    AuthConfig,
    BadIdentity,
    Forbidden,
    Identity,
    Unauthenticated,
    identify,
)
from agentstream.gateway.idle import IdleWatch
from agentstream.gateway.limits import Frame
from agentstream.gateway.messages import BadMessage, parse, validation_message
from agentstream.gateway.metrics import CONTENT_TYPE, Metrics
from agentstream.gateway.origins import (
    OriginGuard,
    SecurityHeaders,
    cors,
    forbid,
    request_origin_allowed,
)
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.gateway.tuning import collect_if_idle, tune_gc
from agentstream.protocol.dialects import Dialect, UnknownDialect, get_dialect
from agentstream.runs.registry import RunRegistry

logger = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009

WEB_STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

# Kept importable from here for apps written against the old layout.
__all__ = ["BadMessage", "Gateway", "create_app", "validation_message"]


class Gateway:
    """The WebSocket transport around a dispatcher; holds the open connections."""

    def __init__(self, app: AgentApp, settings: Settings) -> None:
        """Serve ``app`` with ``settings``."""
        self.dispatcher = Dispatcher(app, settings)
        self.app = app
        self.settings = settings
        self.connections: dict[str, Connection] = {}
        # Replaced once the store is open (its shared secret); a process secret until then.
        self.auth: AuthConfig = quick_auth(settings)
        self.metrics = Metrics(app.name)
        # Writes every socket's row in batches (made when the first socket opens a store's).
        self.connection_rows: ConnectionRows | None = None
        self.metrics.bind(lambda: len(self.connections), lambda: len(self.runs.active()))
        self.dispatcher.metrics = self.metrics

    @property
    def runs(self) -> RunRegistry:
        """The runs this process holds."""
        return self.dispatcher.runs

    @property
    def services(self) -> Services:
        """What handlers share (the store, the runs, outside tools)."""
        return self.dispatcher.services

    # -- WebSocket ------------------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        """Serve one socket from ``$connect`` to ``$disconnect``."""
        credentials = credentials_of(ws)
        offered = credentials.subprotocols
        try:
            dialect = get_dialect(self._dialect_name(ws, offered))
        except UnknownDialect as exc:
            # Accept first: a close before accepting is an HTTP 403 with no reason for the client.
            await ws.accept()
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        try:
            who = identify(credentials, self.auth)
        except (Unauthenticated, Forbidden, BadIdentity) as exc:
            logger.info("connection refused: %s", exc.code)  # never the token
            await _deny(ws, str(exc), exc.code, exc.http_status)
            return
        user = who.user
        ip = ws.client.host if ws.client is not None else "unknown"
        refused = self.dispatcher.limits.connect(ip, user)
        if refused is not None:
            logger.info("user=%s | connection refused: %s", user, refused)
            await _deny(ws, refused)
            return
        try:
            await self._serve(ws, dialect, who, offered)
        finally:
            self.dispatcher.limits.disconnect(ip, user)

    async def _serve(
        self, ws: WebSocket, dialect: Dialect, who: Identity, offered: Sequence[str]
    ) -> None:
        # Echo the dialect when offered, else the bearer marker the token came with.
        subprotocol = dialect.name if dialect.name in offered else who.subprotocol
        # A fresh identity is handed to the client on the upgrade, so it can reconnect as itself.
        headers = [(b"set-cookie", self._cookie(who, ws))] if who.fresh else None
        await ws.accept(subprotocol=subprotocol, headers=headers)
        conn = Connection(
            ws,
            user=who.user,
            dialect=dialect,
            queue_size=self.settings.send_queue_frames,
            coalesce_s=_coalesce(ws, self.settings.coalesce_s),
            merge_waiting=_merge_waiting(ws, self.settings.merge_waiting),
            metrics=self.metrics,
        )
        conn.start()
        self.connections[conn.id] = conn
        ctx = self.dispatcher.reply_context(conn.user, conn.id)
        logger.info("conn=%s user=%s dialect=%s | connected", conn.id, conn.user, dialect.name)
        # The row (who is connected, for operators) is written in the next batch of rows
        # (gateway/connection_rows.py): neither the handshake nor the first message waits for
        # it. Under a burst of new streams a store round trip before the first message held
        # each new stream's first event for 0.7 s (bench/streams.py burst, p50), and a store
        # call per socket open and close was a tenth of the server's CPU at 1000 short streams.
        # $connect hooks do wait for it: they may look it up.
        rows = self._rows()
        if rows is not None:
            rows.opened(conn.id, conn.user, {"dialect": dialect.name})
        try:
            if rows is not None and self.app.on_connect:
                await rows.written()
            for hook in self.app.on_connect:
                await hook(ctx)
            await self._receive_loop(ws, conn)
        finally:
            await self._disconnect(conn, ctx)

    def _rows(self) -> ConnectionRows | None:
        """The batch writer of this process's connection rows (None without a store)."""
        store = self.services.store
        if store is None:
            return None
        if self.connection_rows is None or self.connection_rows.store is not store:
            self.connection_rows = ConnectionRows(store, ttl_s=self.settings.connection_ttl_s)
        return self.connection_rows

    def _cookie(self, who: Identity, ws: WebSocket) -> bytes:
        value = self.auth.cookies.sign(who.user)
        return set_cookie_header(value, secure=ws.scope.get("scheme") == "wss")

    def _dialect_name(self, ws: WebSocket, offered: Sequence[str]) -> str:
        wanted = ws.query_params.get("dialect")
        if wanted:
            return wanted
        for protocol in offered:
            with contextlib.suppress(UnknownDialect):
                return get_dialect(protocol).name
        return self.app.dialect

    async def _receive_loop(self, ws: WebSocket, conn: Connection) -> None:
        idle_s = self.settings.idle_timeout_s
        if idle_s <= 0:
            while await self._received(conn, await ws.receive()):
                pass
            return
        # Quiet while a run streams to it: not idle.
        watch = IdleWatch(idle_s, lambda: any(self._live(run_id, conn) for run_id in conn.runs))
        try:
            while True:
                try:
                    message = await watch.receive(ws.receive())
                except TimeoutError:
                    logger.info("conn=%s | idle for %.0f s; closing", conn.id, idle_s)
                    await conn.close_now(CLOSE_GOING_AWAY, "idle timeout")
                    return
                if not await self._received(conn, message):
                    return
        finally:
            watch.close()

    async def _received(self, conn: Connection, message: Message) -> bool:
        """Act on one ASGI message of the socket; False once the socket is done."""
        if message["type"] == "websocket.disconnect":
            return False
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        if _size(raw) > self.settings.max_message_bytes:
            logger.info("conn=%s | message over %d bytes; closing", conn.id, _size(raw))
            await conn.close_now(CLOSE_TOO_BIG, "message too big")
            return False
        verdict = self.dispatcher.limits.hit_frame(conn.id)
        if verdict is Frame.FLOOD:
            logger.warning("conn=%s | frame flood; closing", conn.id)
            await conn.close_now(CLOSE_POLICY, "too many frames")
            return False
        if verdict is Frame.REFUSED:
            limit = self.settings.frames_per_second
            conn.error(f"too many frames (limit {limit} per second)", "rate_limited")
            return True
        await self.handle(conn, raw)
        return True

    def _live(self, run_id: str, conn: Connection) -> bool:
        run = self.runs.get(run_id, conn.user)
        return run is not None and not run.finished

    async def handle(self, conn: Connection, raw: str | bytes) -> None:
        """Parse and act on one client message; answer its errors on the socket."""
        try:
            command = parse(raw, self.app, max_bytes=self.settings.max_message_bytes)
        except BadMessage as exc:
            conn.error(str(exc), exc.code, exc.request_id)
            return
        except Exception:  # a validator bug must not take the socket down with it
            logger.exception("conn=%s | parsing failed", conn.id)
            conn.error("internal error while reading the message", "internal_error")
            return
        try:
            await self.dispatcher.dispatch(command, conn)
        except AgentstreamError as exc:
            conn.answer(error_answer(exc, command.request_id))
        except Exception as exc:  # a handler bug must not take the socket down with it
            logger.exception("conn=%s | handler failed", conn.id)
            message = f"internal error: {type(exc).__name__}"
            conn.error(message, "internal_error", command.request_id)

    async def _disconnect(self, conn: Connection, ctx: ReplyContext) -> None:
        self.connections.pop(conn.id, None)
        for run_id in conn.runs:
            run = self.runs.get(run_id, conn.user)
            if run is not None:
                run.unsubscribe(conn)
                self.runs.detached(run)
        for hook in self.app.on_disconnect:
            try:
                await hook(ctx)
            except Exception:  # an app's hook bug must not skip the other hooks or the cleanup
                logger.exception("conn=%s | $disconnect hook failed", conn.id)
        rows = self._rows()
        if rows is not None:
            rows.closed(conn.id)
        await conn.stop()
        logger.info("conn=%s | disconnected", conn.id)

    # -- pages ----------------------------------------------------------------------------------

    async def metrics_page(self, request: Request) -> Response:
        """Prometheus text (see :mod:`agentstream.gateway.metrics`)."""
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def index(self, request: Request) -> Response:
        """The app's page."""
        if self.app.static_dir is not None and (self.app.static_dir / "index.html").is_file():
            return FileResponse(self.app.static_dir / "index.html")
        return PlainTextResponse(f"{self.app.name}: WebSocket API at /ws\n")

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


def _size(raw: str | bytes) -> int:
    """A message's size in bytes (text counts as UTF-8, as API Gateway counts it)."""
    if isinstance(raw, bytes):
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


def _coalesce(ws: WebSocket, default: float) -> float:
    """The client's ``?coalesce=<ms>`` (bounded to 0..1000 ms; auto/off: 0), else the default."""
    raw = ws.query_params.get("coalesce", "")
    if raw in ("auto", "off"):
        return 0.0
    try:
        wanted = float(raw)
    except ValueError:
        return default
    return min(max(wanted, 0.0), 1000.0) / 1000


def _merge_waiting(ws: WebSocket, default: bool) -> bool:
    """Whether waiting text merges: ``?coalesce=auto`` asks, ``off`` refuses, else the default."""
    wanted = ws.query_params.get("coalesce")
    if wanted in ("auto", "off"):
        return wanted == "auto"
    return default


async def _deny(
    ws: WebSocket, reason: str, code: str = "too_many_connections", status: int = 429
) -> None:
    """Refuse a socket before the upgrade: HTTP ``status`` where the server can, else 403."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        body = {"type": "error", "message": reason, "code": code}
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await ws.send_denial_response(JSONResponse(body, status, headers=headers))
    else:
        await ws.close(code=CLOSE_POLICY)  # before accepting: the handshake answers HTTP 403


async def _refused_identity(request: Request, exc: Exception) -> Response:
    """HTTP answer for credentials that do not hold (raised by ``identify`` in any door)."""
    assert isinstance(exc, REFUSALS)
    body = {"type": "error", "message": str(exc), "code": exc.code}
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(body, exc.http_status, headers=headers)


REFUSALS = (BadIdentity, Unauthenticated, Forbidden)


class GatewayApp(Starlette):
    """The gateway's Starlette app, with a short way in for WebSocket upgrades on its paths.

    Every middleware of :func:`_middleware` but the Origin check lets a WebSocket through
    untouched, and so do Starlette's error layers and router, yet each wrapped the socket's
    every send and ran on every upgrade: at a thousand short streams the layers were several
    per cent of the server's work (``bench/streams.py``). An upgrade on one of the app's own
    paths is checked for its Origin and handed to :meth:`Gateway.websocket` directly, unless
    someone added middleware of their own (``add_middleware``), which then sees every request.
    """

    def __init__(self, gateway: Gateway, **kwargs: Any) -> None:
        """A Starlette app (``kwargs`` as Starlette's) serving ``gateway``'s sockets directly."""
        super().__init__(**kwargs)
        self.gateway = gateway
        self._ws_paths = frozenset(gateway.app.ws_paths)
        self._own_middleware = len(self.user_middleware)
        self._allowed = tuple(gateway.settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope``: the app's WebSocket paths directly, anything else as Starlette."""
        if (
            scope["type"] == "websocket"
            and _route_path(scope) in self._ws_paths
            and len(self.user_middleware) == self._own_middleware
        ):
            scope["app"] = self
            if not request_origin_allowed(scope, self._allowed):
                await forbid(scope, send)
                return
            await self.gateway.websocket(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches: below ``root_path`` when mounted."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _middleware(gateway: Gateway) -> list[Middleware]:
    """Outermost first: headers, CORS, the Origin check, the identity cookie, body limits."""
    install_redaction()  # uvicorn logs request paths, and a path may carry ?token=
    settings = gateway.settings
    return [
        Middleware(SecurityHeaders),
        cors(settings.allowed_origins),
        Middleware(OriginGuard, allowed=settings.allowed_origins),
        Middleware(IdentityCookie, auth=lambda: gateway.auth),
        Middleware(BodyGuard, max_bytes=settings.max_body_bytes),
    ]


def _lifespan(gateway: Gateway) -> Any:
    """Open the store before serving; cancel the runs and close it after."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        store = None
        if gateway.settings.store != "none":
            from agentstream.stores import open_store

            store = open_store(gateway.settings.store)
            await store.open()
            gateway.services.store = store
        gateway.auth = await build_auth(gateway.settings, store)
        tune_gc()  # once per process: see gateway/tuning.py for the measurements
        # Full collections when the last live run ends, not in the middle of streams (after
        # that run's step: its last frames go out first).
        loop = asyncio.get_running_loop()

        def idle() -> None:
            loop.call_soon(collect_if_idle)

        gateway.runs.on_idle(idle)
        from agentstream.cluster.remote import join

        remote = gateway.dispatcher.remote = await join(store, gateway.runs)
        try:
            yield
        finally:
            await gateway.runs.cancel_all()
            # The recorder writes each run's end, and the rows their last batch, before the
            # store closes under them.
            await gateway.dispatcher.finish_recording()
            if gateway.connection_rows is not None:
                await gateway.connection_rows.drain(5.0)
            if remote is not None:
                await remote.node.stop()
            if store is not None:
                await store.close()

    return lifespan


def create_app(app: AgentApp, settings: Settings | None = None) -> Starlette:
    """The ASGI application serving ``app``."""
    gateway = Gateway(app, settings or Settings())
    routes: list[Any] = [
        Route("/", gateway.index),
        Route("/healthz", gateway.healthz),
        Route("/metrics", gateway.metrics_page),
        Route("/api/invoke", http.invoke, methods=["POST"]),
        Route("/api/runs", http.start_run, methods=["POST"]),
        Route("/api/runs/{run_id}/events", http.run_events),
        Route("/api/runs/{run_id}/cancel", cancel_http.cancel_run, methods=["POST"]),
        Route("/api/agui", agui_http.agui_run, methods=["POST"]),
        Route("/api/chat", aisdk_http.chat, methods=["POST"]),
        *(WebSocketRoute(path, gateway.websocket) for path in app.ws_paths),
        *app.http_routes,
    ]
    if WEB_STATIC.is_dir():
        routes.append(Mount("/static", StaticFiles(directory=WEB_STATIC), name="static"))
    if app.static_dir is not None and app.static_dir.is_dir():
        routes.append(Mount("/app", StaticFiles(directory=app.static_dir), name="app"))
    asgi = GatewayApp(
        gateway,
        routes=routes,
        lifespan=_lifespan(gateway),
        middleware=_middleware(gateway),
        exception_handlers=dict.fromkeys(REFUSALS, _refused_identity),
    )
    asgi.state.gateway = gateway
    asgi.state.dispatcher = gateway.dispatcher
    return asgi
