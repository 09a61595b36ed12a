"""A real HTTP server standing in for API Gateway's management API (``@connections``).

It answers ``POST /@connections/{id}`` (optionally under a stage prefix) like AWS does: 200 and
the frame recorded, 410 with ``x-amzn-ErrorType: GoneException`` for a client that left, 429 with
``LimitExceededException`` while throttling, each after an added ``latency_s``. boto3's
``apigatewaymanagementapi`` client talks to it through ``endpoint_url``. Used by the AWS tests
and by ``bench/aws_delivery.py``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def free_port() -> int:
    """A TCP port nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _error(status: int, kind: str) -> Response:
    return JSONResponse({"message": kind}, status, headers={"x-amzn-ErrorType": kind})


class ManagementStub:
    """The stub's state (what was posted, who is gone, throttling) and its server thread."""

    def __init__(self, *, latency_s: float = 0.0, stage: str = "prod") -> None:
        self.latency_s = latency_s
        self.stage = stage
        self.frames: dict[str, list[bytes]] = defaultdict(list)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.gone: set[str] = set()
        self.throttle = 0
        self.throttled = 0
        self.deleted: list[str] = []
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The endpoint a client is pointed at (``http://127.0.0.1:PORT/{stage}``)."""
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    def texts(self, connection_id: str) -> list[str]:
        """The frames posted to ``connection_id``, as text."""
        return [f.decode() for f in self.frames[connection_id]]

    async def _connection(self, request: Request) -> Response:
        connection_id = unquote(request.path_params["conn"])
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if connection_id in self.gone:
            return _error(410, "GoneException")
        if request.method == "DELETE":
            self.gone.add(connection_id)
            self.deleted.append(connection_id)
            return Response(status_code=204)
        if self.throttle > 0:
            self.throttle -= 1
            self.throttled += 1
            return _error(429, "LimitExceededException")
        self.frames[connection_id].append(await request.body())
        self.times[connection_id].append(time.perf_counter())
        return Response(status_code=200)

    def app(self) -> Starlette:
        methods = ["POST", "DELETE"]
        return Starlette(
            routes=[
                Route("/{stage}/@connections/{conn}", self._connection, methods=methods),
                Route("/@connections/{conn}", self._connection, methods=methods),
            ]
        )

    def __enter__(self) -> ManagementStub:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("management stub did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
