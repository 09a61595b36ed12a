"""The two servers the stream benchmarks compare, each run in its own process.

- ``agentstream``: the real gateway serving a counting app (runs, seq, log, outbox, dialect).
- ``bare``: a bare Starlette WebSocket endpoint on the same uvicorn that sends the same frames
  straight from the request loop: the floor the gateway is measured against.

Both answer ``{"action":"count","n":N,"pause":S}`` with a RUN_STARTED-like frame, N text deltas and
a final frame. Each delta's text is the time.time() at which it was made, so a client measures every
token's latency from its making to its receipt, whether it came alone or merged with others; the
other frames carry ``ts`` (the sender's time.time()).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator

import orjson
import uvicorn
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from agentstream.gateway.app import create_app
from agentstream.gateway.context import RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk


class Count(BaseModel):
    n: int = 100
    pause: float = 0.0


def gateway_app() -> Starlette:
    app = AgentApp(name="bench", dialect="agentstream")

    @app.run("count", Count)
    async def count(request: Count, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            if request.pause:
                await asyncio.sleep(request.pause)
            elif i % 32 == 31:
                await asyncio.sleep(0)  # a model yields between tokens; never starve the loop
            # The delta is the time the token was made: clients time every token, merged or not.
            yield TextMessageChunk(delta=f"{time.time()!r} ", message_id="m")
        yield RunFinished(result={"n": request.n})

    return create_app(
        app,
        Settings(
            model="scripted",
            send_queue_frames=65536,
            store=os.environ.get("AGENTSTREAM_BENCH_STORE", "sqlite://:memory:"),
            # One client machine opens 1000 streams as one user: the abuse limits (issue 10)
            # would refuse most of them, and this measures throughput, not protection.
            runs_per_minute=0,
            frames_per_second=0,
            max_connections_per_ip=0,
            max_connections_per_user=0,
            # ...and 1000 live runs of one user: the per-user quota would refuse 980 of them.
            max_active_runs_per_user=1_000_000,
        ),
    )


def bare_app() -> Starlette:
    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                body = orjson.loads(await ws.receive_text())
                n, pause = int(body.get("n", 100)), float(body.get("pause", 0))
                run = "run_bare"
                await ws.send_text(
                    orjson.dumps(
                        {"type": "RUN_STARTED", "runId": run, "seq": 1, "ts": time.time()}
                    ).decode()
                )
                for i in range(n):
                    if pause:
                        await asyncio.sleep(pause)
                    elif i % 32 == 31:
                        await asyncio.sleep(0)
                    await ws.send_text(
                        orjson.dumps(
                            {
                                "type": "TEXT_MESSAGE_CHUNK",
                                "runId": run,
                                "seq": i + 2,
                                "ts": time.time(),
                                "delta": f"{time.time()!r} ",
                                "messageId": "m",
                                "role": "assistant",
                            }
                        ).decode()
                    )
                await ws.send_text(
                    orjson.dumps(
                        {
                            "type": "RUN_FINISHED",
                            "runId": run,
                            "seq": n + 2,
                            "ts": time.time(),
                            "result": {"n": n},
                        }
                    ).decode()
                )
        except WebSocketDisconnect:
            return

    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    asgi = gateway_app() if kind == "agentstream" else bare_app()
    if kind == "agentstream" and os.environ.get("AGENTSTREAM_BENCH_METRICS") == "0":
        # Measures what /metrics costs: the same gateway with its hooks unplugged.
        asgi.state.gateway.metrics = None
        asgi.state.gateway.dispatcher.metrics = None
    uvicorn.run(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        backlog=4096,
        # The options bench/options.py compares (defaults: what `agentstream serve` uses).
        ws=os.environ.get("AGENTSTREAM_BENCH_WS", "auto"),  # type: ignore[arg-type]
        ws_per_message_deflate=os.environ.get("AGENTSTREAM_BENCH_DEFLATE") == "1",
    )
