"""The connection writer: queued frames go out in order, a slow client is closed with 1013.

The unit tests drive a :class:`Connection` over a stand-in socket that records what the writer
sends (the writer's rules are what is tested, not Starlette); the last test does the same over a
real socket with a client that never reads.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from starlette.websockets import WebSocketDisconnect, WebSocketState

from agentstream.gateway.connections import (
    CLOSE_TRY_AGAIN,
    WRITE_BATCH,
    Connection,
    new_connection_id,
)
from agentstream.gateway.settings import Settings
from agentstream.protocol.control import Pong
from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import (
    Event,
    RunFinished,
    TextMessageChunk,
    ToolCallChunk,
    stamp,
)
from tests.conftest import LiveServer, recv_run, serve
from tests.gateway.test_streams import counting_app, start, wait_until
from tests.identities import as_user


class Socket:
    """Records what the writer sends and how it closes; ``fail`` makes sends raise.

    ``room`` cleared is a socket whose buffer is full: a send waits for it (as uvicorn's does)
    before it writes anything.
    """

    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None
        self.client_state = WebSocketState.CONNECTED
        self.fail = fail
        self.changed = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()

    async def send_text(self, text: str) -> None:
        await self.room.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append(json.loads(text))
        self.changed.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = (code, reason)
        self.changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition`` holds (the timeout only stops a broken writer hanging)."""

        async def watch() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(watch(), 10)


def connection(
    socket: Socket, *, queue_size: int = 100, coalesce_s: float = 0.0, dialect: str = "calledit"
) -> Connection:
    return Connection(
        socket,  # type: ignore[arg-type]
        user="u",
        dialect=get_dialect(dialect),
        queue_size=queue_size,
        coalesce_s=coalesce_s,
    )


def text(delta: str, seq: int) -> Event:
    return stamp(TextMessageChunk(delta=delta, message_id="m"), run_id="run_c", seq=seq, ts=0.0)


def finished(seq: int) -> Event:
    return stamp(RunFinished(result={"ok": True}), run_id="run_c", seq=seq, ts=0.0)


def test_connection_ids_look_like_api_gateway_ones() -> None:
    """An id is 12 random bytes in base64 (16 characters), different each time."""
    ids = {new_connection_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 16 and len(base64.b64decode(i)) == 12 for i in ids)


async def test_events_go_out_in_order_rendered_in_the_dialect() -> None:
    """Delivered events are sent in order, in the connection's dialect, and counted."""
    socket = Socket()
    conn = connection(socket)
    conn.start()
    conn.deliver(text("a", 1))
    conn.deliver(text("b", 2))
    conn.deliver(finished(3))
    await socket.until(lambda: len(socket.sent) == 3)
    assert [(f["type"], f["seq"]) for f in socket.sent] == [
        ("text", 1),
        ("text", 2),
        ("complete", 3),
    ]
    assert conn.frames_sent == 3 and conn.backlog == 0
    await conn.stop()


async def test_answers_and_errors_go_through_the_dialect_with_the_request_id() -> None:
    """Control answers keep their type; ``error`` uses the dialect's error shape; both echo ids."""
    socket = Socket()
    conn = connection(socket)
    conn.start()
    conn.answer(Pong(request_id="p1"))
    conn.error("bad frame", "bad_json", request_id=7)
    await socket.until(lambda: len(socket.sent) == 2)
    assert socket.sent == [
        {"type": "pong", "requestId": "p1"},
        {"type": "error", "message": "bad frame", "code": "bad_json", "requestId": 7},
    ]
    await conn.stop()


async def test_close_sends_what_is_queued_first() -> None:
    """``close`` lets the queued frames out, then closes with the given code and reason."""
    socket = Socket()
    conn = connection(socket)
    conn.deliver(text("a", 1))
    conn.deliver(finished(2))
    conn.close(4000, "bye")
    conn.close(1000, "second close is ignored")
    conn.start()
    await socket.until(lambda: socket.closed_with is not None)
    assert [f["seq"] for f in socket.sent] == [1, 2]
    assert socket.closed_with == (4000, "bye")


async def test_nothing_is_queued_after_close() -> None:
    """Events and answers for a closed connection are dropped, not queued."""
    conn = connection(Socket())
    conn.close()
    conn.deliver(text("late", 1))
    conn.answer(Pong())
    assert conn.backlog == 0


async def test_a_full_outbox_closes_the_client_with_1013_and_sends_nothing() -> None:
    """Past ``queue_size`` frames the client is closed as too slow; the dropped frames never go."""
    socket = Socket()
    conn = connection(socket, queue_size=2)
    conn.deliver(text("a", 1))
    conn.deliver(finished(2))
    assert not conn.closed
    conn.answer(Pong())
    assert conn.closed
    conn.start()
    await socket.until(lambda: socket.closed_with is not None)
    assert socket.sent == []
    assert socket.closed_with == (CLOSE_TRY_AGAIN, "client too slow: send queue full")


async def test_exactly_queue_size_frames_are_all_sent() -> None:
    """A backlog of exactly ``queue_size`` frames is not an overflow: every frame goes out."""
    socket = Socket()
    conn = connection(socket, queue_size=2)
    conn.deliver(text("a", 1))
    conn.deliver(finished(2))
    conn.start()
    await socket.until(lambda: len(socket.sent) == 2)
    assert not conn.closed and socket.closed_with is None
    await conn.stop()


async def test_with_a_window_text_waits_and_a_non_text_event_sends_it_at_once() -> None:
    """Inside a (long) coalescing window text merges; the terminal event ends the wait."""
    socket = Socket()
    conn = connection(socket, coalesce_s=3600)
    conn.start()
    for seq, word in enumerate(["one ", "two ", "three"], start=1):
        conn.deliver(text(word, seq))
    await asyncio.sleep(0)
    assert socket.sent == []
    conn.deliver(finished(4))
    await socket.until(lambda: len(socket.sent) == 2)
    assert socket.sent[0]["content"] == "one two three" and socket.sent[0]["seq"] == 3
    assert socket.sent[1]["type"] == "complete"
    await conn.stop()


async def test_close_ends_a_coalescing_wait_at_once() -> None:
    """Closing inside a (long) window sends the waiting text and closes without waiting it out."""
    socket = Socket()
    conn = connection(socket, coalesce_s=3600)
    conn.start()
    conn.deliver(text("last words", 1))
    await asyncio.sleep(0)
    conn.close(1000, "done")
    await socket.until(lambda: socket.closed_with is not None)
    assert [f["content"] for f in socket.sent] == ["last words"]


async def test_a_socket_that_went_away_stops_the_writer_and_marks_it_closed() -> None:
    """A disconnect while sending ends the writer quietly and later deliveries are dropped."""
    socket = Socket(fail=WebSocketDisconnect(1006))
    conn = connection(socket)
    conn.start()
    conn.deliver(text("a", 1))
    await asyncio.sleep(0)  # the writer is woken at the loop's next turn
    await asyncio.wait_for(conn._writer, 10)  # type: ignore[arg-type]
    assert conn.closed and not conn.is_open
    conn.deliver(text("b", 2))
    assert conn.backlog == 0


async def test_is_open_follows_the_socket_state() -> None:
    """A connection is open while its socket is connected and it has not been closed."""
    socket = Socket()
    conn = connection(socket)
    assert conn.is_open
    socket.client_state = WebSocketState.DISCONNECTED
    assert not conn.is_open


@pytest.fixture
def live() -> Iterator[LiveServer]:
    with serve(
        counting_app(), Settings(model="scripted", detach_grace_s=5, send_queue_frames=256)
    ) as server:
        yield server


def tool(seq: int) -> Event:
    return stamp(
        ToolCallChunk(tool_call_id=f"t{seq}", tool_call_name="x"), run_id="run_c", seq=seq, ts=0.0
    )


async def test_flush_now_sends_what_waits_at_once_without_the_writer() -> None:
    """flush_now (a run's step ended) sends the queued frames before anything else runs."""
    socket = Socket()
    conn = connection(socket)  # no writer task at all
    conn.deliver(text("a", 1))
    conn.deliver(finished(2))
    conn.flush_now()
    assert [f["seq"] for f in socket.sent] == [1, 2]
    assert conn.frames_sent == 2 and conn.backlog == 0


async def test_a_send_that_must_wait_is_finished_later_and_keeps_its_place() -> None:
    """A full socket: flush_now leaves the waiting send to a task; later frames follow it."""
    socket = Socket()
    socket.room.clear()
    conn = connection(socket)
    conn.start()
    conn.deliver(text("a", 1))
    conn.deliver(tool(2))
    conn.flush_now()  # a's send waits for room; the run goes on
    conn.deliver(tool(3))
    conn.flush_now()  # a send is in flight: nothing else may start
    assert socket.sent == [] and conn.backlog == 2
    socket.room.set()
    await socket.until(lambda: len(socket.sent) == 3)
    assert [f["seq"] for f in socket.sent] == [1, 2, 3]
    await conn.stop()


async def test_flush_now_leaves_a_coalescing_window_to_the_writer() -> None:
    """A connection that asked for a window gets nothing from flush_now: text waits to merge."""
    socket = Socket()
    conn = connection(socket, coalesce_s=0.05)
    conn.deliver(text("a", 1))
    conn.flush_now()
    assert socket.sent == [] and conn.backlog == 1


async def test_flush_now_sends_one_batch_and_leaves_a_backlog_to_the_writer() -> None:
    """A replay's backlog is not written from a run's step past WRITE_BATCH frames."""
    socket = Socket()
    conn = connection(socket, queue_size=1000)
    for seq in range(1, WRITE_BATCH + 11):
        conn.deliver(tool(seq))
    conn.flush_now()
    assert len(socket.sent) == WRITE_BATCH and conn.backlog == 10
    conn.start()
    await socket.until(lambda: len(socket.sent) == WRITE_BATCH + 10)
    assert [f["seq"] for f in socket.sent] == list(range(1, WRITE_BATCH + 11))
    await conn.stop()


async def test_flush_now_on_a_socket_that_went_away_marks_it_closed() -> None:
    """A direct send that fails (the client left) closes the connection; nothing raises."""
    socket = Socket(fail=WebSocketDisconnect(1006))
    conn = connection(socket)
    conn.deliver(text("a", 1))
    conn.flush_now()
    assert conn.closed and socket.sent == []


async def test_a_client_that_never_reads_does_not_delay_others(live: LiveServer) -> None:
    """A stalled reader is closed with 1013 while its run and another client's run finish."""
    gateway = live.asgi.state.gateway
    stalled = await websockets.connect(
        live.ws, additional_headers=as_user(live, "slow"), max_queue=1
    )
    await stalled.send(start(n=3000, pause=0, size=4000))
    async with websockets.connect(live.ws, additional_headers=as_user(live, "fast")) as fast:
        await fast.send(start(n=50, pause=0.001))
        frames = await recv_run(fast)
    assert frames[-1]["type"] == "RUN_FINISHED" and len(frames) == 53
    slow_runs = [r for r in gateway.runs._runs.values() if r.owner == "slow"]
    await wait_until(lambda: slow_runs[0].finished, 30)  # the run lives on the server's loop
    assert slow_runs[0].state.value == "finished"  # the producer never waited for the socket
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(stalled.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


async def test_an_idle_connection_holds_no_writer_task_until_it_sends() -> None:
    """start() makes no task; the first frame that needs the writer starts it (idle memory)."""
    socket = Socket()
    before = len(asyncio.all_tasks())
    conn = connection(socket)
    conn.start()
    assert len(asyncio.all_tasks()) == before and conn.outbox.take() is None
    conn.answer(Pong(request_id=1))  # a control answer: no run step flushes it, the writer does
    await socket.until(lambda: len(socket.sent) == 1)
    assert len(asyncio.all_tasks()) == before + 1
    await conn.stop()
