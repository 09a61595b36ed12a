"""API Gateway's WebSocket behaviour.

The upgrade, ``$connect`` and its authorizer, routing, integration responses and errors,
quotas, and ``$disconnect``.

Rules and where AWS states them are in ``research/anchors-and-protocols.md`` §5. In short:
the upgrade waits for the authorizer and ``$connect`` (a missing identity → 401, a ``Deny`` →
403, a non-2xx ``statusCode`` → that status, all before the upgrade); a message goes to the route
its ``RouteSelectionExpression`` picks, else ``$default``, else a ``Forbidden`` frame; a handler
error sends ``Internal server error``; past the 29 s integration timeout the client gets
``Endpoint request timed out`` while the function keeps running; ``$disconnect`` runs after any
close, best effort.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from websockets.server import ServerProtocol

from agentstream.aws.emulator import events as ev
from agentstream.aws.emulator.connection import Limits, WsConnection
from agentstream.aws.emulator.http import Request, Response, write_response
from agentstream.aws.emulator.runtime import Invocation, Runtime
from agentstream.aws.emulator.template import ACCOUNT_ID, Authorizer, Stack, WebSocketApi

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """The answer to an upgrade request: a status and headers to add."""

    status: int
    headers: dict[str, str]
    authorizer: dict[str, Any] | None = None


def identity_value(source: str, info: ev.ConnectionInfo) -> str | None:
    """The value of one authorizer identity source (``route.request.header.X`` …)."""
    name = source.removeprefix("route.").removeprefix("$")
    if name.startswith("request.header."):
        wanted = name.removeprefix("request.header.").lower()
        return next((v for k, v in info.headers.items() if k.lower() == wanted), None) or None
    if name.startswith("request.querystring."):
        values = info.query.get(name.removeprefix("request.querystring."))
        return values[-1] if values else None
    return None


def policy_allows(result: Any) -> bool:
    """Whether an authorizer's policy document allows ``execute-api:Invoke`` (no Deny)."""
    doc = result.get("policyDocument", {}) if isinstance(result, dict) else {}
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    effects = {str(s.get("Effect", "")).lower() for s in statements if isinstance(s, dict)}
    return "allow" in effects and "deny" not in effects


class Gateway:
    """Serves every WebSocket API of a stack over one port."""

    def __init__(
        self, stack: Stack, runtime: Runtime, limits: Limits, verbose: bool = False
    ) -> None:
        """Set up; see the class docstring."""
        self.stack = stack
        self.runtime = runtime
        self.limits = limits
        self.verbose = verbose
        self.connections: dict[str, WsConnection] = {}
        self.domain_name: str | None = None  # set when the emulator serves TLS
        self._background: set[asyncio.Task[Any]] = set()

    def api_for(self, path: str, api_id: str | None = None) -> tuple[WebSocketApi, str] | None:
        """The API and stage a path (``/prod`` or ``/{apiId}/prod``) names."""
        parts = [p for p in path.split("/") if p]
        for api in self.stack.apis:
            if len(parts) == 2 and parts[0] == api.api_id and parts[1] in api.stages:
                return api, parts[1]
            if len(parts) == 1 and parts[0] in api.stages and api_id in (None, api.api_id):
                return api, parts[0]
        return None

    def domain(self, api: WebSocketApi) -> str:
        """The ``domainName`` events carry: AWS's form, or ``localhost:{tls_port}`` with TLS."""
        return self.domain_name or f"{api.api_id}.execute-api.{self.stack.region}.amazonaws.com"

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` in the background, kept alive until done (Lambda keeps running)."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def invoke(self, logical_id: str, event: dict[str, Any], what: str) -> Invocation:
        """Invoke a function and log one line for it."""
        if self.verbose:
            logger.info("event %s | %s", what, event)
        inv = await self.runtime.invoke(logical_id, event)
        outcome = "ok" if inv.ok else f"{inv.error_type}: {inv.error_message}"
        logger.info(
            "invoke fn=%s %s request=%s duration=%.0fms%s | %s",
            logical_id,
            what,
            inv.request_id,
            inv.duration_ms,
            " cold" if inv.cold else "",
            outcome,
        )
        return inv

    async def websocket(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one WebSocket upgrade request, then the connection, then ``$disconnect``."""
        found = self.api_for(request.path, None)
        if found is None:
            await write_response(
                writer, Response.json(403, {"message": "Forbidden"}, Connection="close")
            )
            return
        api, stage = found
        proto = ServerProtocol(max_size=(self.limits.message_bytes, self.limits.frame_bytes))
        proto.receive_data(request.head)
        handshake = proto.events_received()
        if not handshake:
            await write_response(
                writer, Response.json(400, {"message": "Bad Request"}, Connection="close")
            )
            return
        # Build the 101 first: a malformed handshake is refused before any Lambda runs.
        response = proto.accept(handshake[0])  # type: ignore[arg-type]
        conn = WsConnection(proto, reader, writer, self._info(api, stage, request), self.limits)
        if response.status_code != 101:
            proto.send_response(response)
            conn.flush()
            return
        admission = await self.admit(api, conn.info)
        if admission.status != 200:
            await self._refuse(proto, writer, admission.status, conn.info)
            return
        conn.info.authorizer = admission.authorizer
        for name, value in admission.headers.items():
            response.headers[name] = value
        proto.send_response(response)
        conn.flush()
        await self._serve(api, conn)

    def _info(self, api: WebSocketApi, stage: str, request: Request) -> ev.ConnectionInfo:
        multi: dict[str, list[str]] = {}
        for name, value in request.raw_headers:
            multi.setdefault(name, []).append(value)
        return ev.ConnectionInfo(
            connection_id=ev.new_id(16),
            api_id=api.api_id,
            stage=stage,
            domain_name=self.domain(api),
            source_ip=request.peer,
            user_agent=request.headers.get("user-agent", ""),
            connected_at=int(time.time() * 1000),
            headers={k: v[-1] for k, v in multi.items()},
            multi_headers=multi,
            query=request.query,
        )

    async def _refuse(
        self,
        proto: ServerProtocol,
        writer: asyncio.StreamWriter,
        status: int,
        info: ev.ConnectionInfo,
    ) -> None:
        messages = {401: "Unauthorized", 403: "Forbidden"}
        response = proto.reject(
            status, f'{{"message":"{messages.get(status, "Internal server error")}"}}'
        )
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        proto.send_response(response)
        for chunk in proto.data_to_send():
            writer.write(chunk)
        writer.close()
        logger.info("connect refused conn=%s status=%d", info.connection_id, status)

    async def admit(self, api: WebSocketApi, info: ev.ConnectionInfo) -> Admission:
        """Run the ``$connect`` authorizer and integration; the upgrade waits for them."""
        route = api.routes.get("$connect")
        authorizer = None
        if route is not None and route.authorizer is not None:
            status, authorizer = await self._authorize(route.authorizer, info)
            if status != 200:
                return Admission(status, {})
            info.authorizer = authorizer
        if route is None or route.function is None:
            return Admission(200, {}, authorizer)
        inv = await self.invoke(route.function, ev.connect_event(info), "$connect")
        if not inv.ok:
            return Admission(502, {})
        result = inv.result if isinstance(inv.result, dict) else {}
        status = int(result.get("statusCode", 200))
        if not 200 <= status < 300:
            return Admission(status, {})
        return Admission(200, dict(result.get("headers") or {}), authorizer)

    async def _authorize(
        self, auth: Authorizer, info: ev.ConnectionInfo
    ) -> tuple[int, dict[str, Any] | None]:
        if any(identity_value(source, info) is None for source in auth.identity_sources):
            logger.info(
                "authorizer=%s conn=%s | identity missing: 401", auth.name, info.connection_id
            )
            return 401, None
        started = time.perf_counter()
        event = ev.authorizer_event(info, self.stack.region, ACCOUNT_ID)
        inv = await self.invoke(auth.function, event, f"authorizer {auth.name}")
        if not inv.ok:
            return (401 if inv.error_message == "Unauthorized" else 500), None
        if not policy_allows(inv.result):
            return 403, None
        # API Gateway hands context values on as strings (``authorizer.<key>`` variables).
        context: dict[str, Any] = {
            k: ev.stringify(v) for k, v in (inv.result.get("context") or {}).items()
        }
        context["principalId"] = inv.result.get("principalId", "")
        context["integrationLatency"] = int((time.perf_counter() - started) * 1000)
        return 200, context

    async def _serve(self, api: WebSocketApi, conn: WsConnection) -> None:
        cid = conn.info.connection_id
        self.connections[cid] = conn
        logger.info(
            "connect conn=%s api=%s stage=%s ip=%s",
            cid,
            api.api_id,
            conn.info.stage,
            conn.info.source_ip,
        )
        watchdog = asyncio.create_task(self._watchdog(conn))
        try:
            async for message in conn.messages():
                self.spawn(self.route_message(api, conn, message))
        finally:
            watchdog.cancel()
            self.connections.pop(cid, None)
            conn.writer.close()
        code, reason = conn.close_code, conn.close_reason
        logger.info("disconnect conn=%s code=%d reason=%r", cid, code, reason)
        route = api.routes.get("$disconnect")
        if route is not None and route.function is not None:
            event = ev.disconnect_event(conn.info, code, reason)
            self.spawn(self.invoke(route.function, event, "$disconnect"))

    async def _watchdog(self, conn: WsConnection) -> None:
        """Close with 1001 "Going away" when idle too long or open too long."""
        while conn.open:
            now = time.time()
            left = min(
                conn.last_active + self.limits.idle_seconds - now,
                conn.opened + self.limits.max_seconds - now,
            )
            if left <= 0:
                logger.info("timeout conn=%s | closing 1001", conn.info.connection_id)
                conn.close(1001, "Going away")
                return
            await asyncio.sleep(left)

    async def route_message(
        self, api: WebSocketApi, conn: WsConnection, message: str | bytes
    ) -> None:
        """Route one client message and send back what API Gateway would."""
        info = conn.info
        key = ev.select_route(api.selection_expression, message, set(api.routes))
        route = api.routes.get(key) if key else None
        if route is None or route.function is None:
            logger.info("route conn=%s | no route: Forbidden", info.connection_id)
            await self._reply(conn, ev.error_frame("Forbidden", info.connection_id, ev.new_id(16)))
            return
        event = ev.message_event(info, route.key, message)
        request_id = event["requestContext"]["requestId"]
        logger.info("route conn=%s route=%s request=%s", info.connection_id, route.key, request_id)
        task = asyncio.create_task(self.invoke(route.function, event, route.key))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        done, _ = await asyncio.wait({task}, timeout=self.limits.integration_timeout)
        if not done:
            frame = ev.error_frame("Endpoint request timed out", info.connection_id, request_id)
            await self._reply(conn, frame)
            return
        inv = task.result()
        if not inv.ok:
            await self._reply(
                conn, ev.error_frame("Internal server error", info.connection_id, request_id)
            )
        elif route.two_way and isinstance(inv.result, dict) and inv.result.get("body") is not None:
            await self._reply(conn, str(inv.result["body"]))

    async def _reply(self, conn: WsConnection, data: str) -> None:
        try:
            await conn.send(data)
        except ConnectionError:
            logger.info("reply conn=%s | connection already closed", conn.info.connection_id)
