"""agentstream.client over a real server and a TCP proxy that cuts the socket at random bytes."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel

from agentstream import AgentApp, RouteContext, RunFinished, Settings, TextMessageChunk
from agentstream.client import Client, ClientError
from tests.conftest import LiveServer, serve

N_CHUNKS = 40


class Go(BaseModel):
    n: int = N_CHUNKS
    pause_s: float = 0.001


def _app() -> AgentApp:
    app = AgentApp(name="counter")

    @app.run("go", Go)
    async def go(request: Go, ctx: RouteContext) -> AsyncIterator[TextMessageChunk | RunFinished]:
        for i in range(request.n):
            await asyncio.sleep(request.pause_s)  # the run goes on while sockets drop
            yield TextMessageChunk(delta=f"{i} ")
        yield RunFinished(result={"n": request.n})

    return app


@pytest.fixture
def live() -> Iterator[LiveServer]:
    settings = Settings(model="scripted", store="sqlite://:memory:", detach_grace_s=30)
    with serve(_app(), settings) as server:
        yield server


class CuttingProxy:
    """Forwards TCP to the server; cuts each server->client stream after a chosen byte count."""

    def __init__(self, upstream_port: int, cuts: list[int | None]) -> None:
        self.upstream_port = upstream_port
        self.cuts = cuts  # per accepted connection, in order; None (or none left): never cut
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> CuttingProxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        cut = self.cuts[self.connections] if self.connections < len(self.cuts) else None
        self.connections += 1
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        up = asyncio.create_task(_pump(down_r, up_w, None))
        await _pump(up_r, down_w, cut)
        up.cancel()
        for writer in (up_w, down_w):
            writer.close()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, cut: int | None) -> None:
    sent = 0
    with contextlib.suppress(ConnectionError):
        while data := await src.read(512):
            if cut is not None and sent + len(data) >= cut:
                dst.write(data[: cut - sent])  # a frame cut in the middle, like a real drop
                await dst.drain()
                dst.transport.abort()
                return
            dst.write(data)
            await dst.drain()
            sent += len(data)


async def _collect(url: str) -> list[dict[str, object]]:
    async with Client(url, delay_s=0.01) as client:
        run = await client.start("go")
        return [frame async for frame in run]


async def test_a_run_streams_its_frames_in_order(live: LiveServer) -> None:
    """Without drops a run's frames arrive once each, seq 1..n, ending in RUN_FINISHED."""
    frames = await _collect(live.ws)
    assert [f["seq"] for f in frames] == list(range(1, N_CHUNKS + 3))
    assert frames[0]["type"] == "RUN_STARTED" and frames[-1]["type"] == "RUN_FINISHED"


async def test_fifty_runs_dropped_at_random_points_each_get_exactly_their_events(
    live: LiveServer,
) -> None:
    """A socket cut at a random byte (some runs cut again after resuming) loses and repeats
    nothing: every client ends with exactly its run's frames."""
    reference = await _collect(live.ws)
    expected = [(f["seq"], f["type"], f.get("delta")) for f in reference]
    rng = random.Random(14)
    for _ in range(50):
        # First cut past the handshake and RUN_STARTED (a run is known by it); later ones anywhere.
        cuts = [rng.randint(700, 2500)] + [
            rng.choice([None, rng.randint(1, 1500)]) for _ in range(2)
        ]
        async with CuttingProxy(live.port, cuts) as proxy:
            frames = await _collect(f"ws://127.0.0.1:{proxy.port}/ws")
        assert [(f["seq"], f["type"], f.get("delta")) for f in frames] == expected, cuts
        assert proxy.connections >= 2, "the cut must land before the run ended"


async def test_cancel_answers_and_ends_the_run_with_an_error(live: LiveServer) -> None:
    """cancel() gets the server's cancel answer and the run's stream ends with RUN_ERROR."""
    async with Client(live.ws) as client:
        run = await client.start("go", n=1000, pause_s=0.01)
        answer = await run.cancel()
        frames = [frame async for frame in run]
    assert answer["type"] == "cancel" and answer["runId"] == run.run_id
    assert frames[-1]["type"] == "RUN_ERROR"


async def test_a_refused_start_raises_client_error(live: LiveServer) -> None:
    """A start the server refuses (invalid fields) raises ClientError with its message."""
    async with Client(live.ws) as client:
        with pytest.raises(ClientError, match="n"):
            await client.start("go", n="many")


def test_coalesce_is_added_to_the_url_only_when_asked_and_not_already_there() -> None:
    """Client(coalesce=…) adds ?coalesce= to the url; "" or a url that has one is left alone."""
    assert Client("ws://h:1/ws").url == "ws://h:1/ws"
    assert Client("ws://h:1/ws", coalesce="auto").url == "ws://h:1/ws?coalesce=auto"
    assert (
        Client("ws://h:1/ws?dialect=x", coalesce="off").url == "ws://h:1/ws?dialect=x&coalesce=off"
    )
    assert Client("ws://h:1/ws?coalesce=20", coalesce="auto").url == "ws://h:1/ws?coalesce=20"
