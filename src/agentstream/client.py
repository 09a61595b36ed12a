"""An async Python client: start runs over one WebSocket, iterate their events, survive drops.

    async with Client("ws://127.0.0.1:8000/ws") as client:
        run = await client.start("summarize", text="to be or not to be")
        async for frame in run:
            print(frame["seq"], frame["type"])

Frames are the canonical (``agentstream`` dialect) dicts. When the socket drops, the client
reconnects to the same URL and sends ``resume`` with the last ``seq`` each open run received;
the server replays what was missed, and the client drops any frame it already has, so a run's
frames arrive exactly once, in ``seq`` order. A run is known by its first frame (``RUN_STARTED``):
a drop before that fails the :meth:`Client.start` with :class:`ConnectionLost`.

Identity: pass ``token=`` (a JWT or API key, sent as ``Authorization: Bearer``) to a server with
authentication on. With it off, pass ``cookie=`` (an ``agentstream_id`` value) to act as a known
anonymous identity, or nothing: the server gives the first connection a fresh identity in a
``Set-Cookie`` on the upgrade, which the client keeps (:attr:`Client.cookie`) and sends on every
reconnect, so a resumed run is still its own.
Needs the ``websockets`` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agentstream.errors import AgentstreamError

logger = logging.getLogger(__name__)

Frame = dict[str, Any]
TERMINAL = ("RUN_FINISHED", "RUN_ERROR")
COOKIE = "agentstream_id"

__all__ = ["Client", "ClientError", "ConnectionLost", "RunStream"]


class ClientError(AgentstreamError):
    """The server answered a client message with an error frame."""

    code: ClassVar[str] = "client_error"


class ConnectionLost(AgentstreamError, ConnectionError):
    """The socket dropped and could not be reopened, or dropped before a run was known."""

    code: ClassVar[str] = "connection_lost"


class RunStream:
    """One run's frames, in ``seq`` order, each once; iterate it with ``async for``."""

    def __init__(self, client: Client, run_id: str) -> None:
        """A stream of ``run_id``'s frames, fed by ``client``."""
        self.client = client
        self.run_id = run_id
        self.last_seq = 0
        self.done = False
        self._queue: asyncio.Queue[Frame | BaseException] = asyncio.Queue()

    def feed(self, frame: Frame) -> None:
        """Take ``frame`` unless it was seen already (a replay after a resume)."""
        seq = int(frame.get("seq") or 0)
        if self.done or seq <= self.last_seq:
            return
        self.last_seq = seq
        self.done = frame.get("type") in TERMINAL
        self._queue.put_nowait(frame)

    def fail(self, exc: BaseException) -> None:
        """End the iteration with ``exc``."""
        if not self.done:
            self.done = True
            self._queue.put_nowait(exc)

    async def __aiter__(self) -> AsyncIterator[Frame]:
        """The frames, up to and including the terminal one."""
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.get("type") in TERMINAL:
                return

    async def cancel(self) -> Frame:
        """Ask the server to cancel the run; its ``cancel`` answer (``state`` tells the outcome)."""
        return await self.client.request({"action": "cancel", "runId": self.run_id})


class Client:
    """A WebSocket connection to an agentstream server that reconnects and resumes by itself."""

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 20,
        delay_s: float = 0.05,
        token: str | None = None,
        cookie: str | None = None,
        coalesce: str = "",
    ) -> None:
        """Connect to ``url`` (``ws://host:port/ws``).

        Args:
            url: The server's WebSocket URL.
            attempts: How many times to try reopening a dropped socket before giving up.
            delay_s: The first pause between attempts (doubles each time, at most one second).
            token: A bearer token (JWT or API key) for a server with authentication on.
            cookie: An identity cookie value to act as (authentication off).
            coalesce: Sent as ``?coalesce=`` unless ``url`` has one: ``auto`` (text that waits
                for a busy socket arrives merged, no delay; its frame names ``firstSeq``),
                ``off``, a window in ms, or "" (default) to leave it to the server, which
                sends one frame per event unless the client falls far behind.
        """
        self.url = _with_coalesce(url, coalesce)
        self.token = token
        self.cookie = cookie
        self.attempts = attempts
        self.delay_s = delay_s
        self.runs: dict[str, RunStream] = {}
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._answers: dict[str, Callable[[Frame], None]] = {}
        self._starts: dict[str, asyncio.Future[RunStream]] = {}
        self._ids = itertools.count(1)
        self._closed = False

    async def __aenter__(self) -> Client:
        """Open the socket."""
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the socket."""
        await self.close()

    async def connect(self) -> None:
        """Open the socket and start reading it."""
        self._ws = await self._open()
        self._reader = asyncio.create_task(self._read())

    async def _open(self) -> Any:
        """A new socket carrying this client's identity; keeps a cookie the server hands out."""
        import websockets

        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        ws = await websockets.connect(self.url, additional_headers=headers)
        if not self.token and not self.cookie and ws.response is not None:
            self.cookie = _cookie_from(ws.response.headers.get_all("set-cookie"))
        return ws

    async def close(self) -> None:
        """Close the socket; open runs go on on the server until its grace period ends."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()

    async def start(self, action: str, **fields: Any) -> RunStream:
        """Start a run of ``action`` with ``fields``; its stream, once the server started it.

        Raises:
            ClientError: The server refused the message (unknown action, invalid fields…).
            ConnectionLost: The socket dropped before the run's first frame.
        """
        request_id = self._request_id()
        started: asyncio.Future[RunStream] = asyncio.get_running_loop().create_future()
        self._starts[request_id] = started
        self._answers[request_id] = lambda frame: _refuse(started, frame)
        await self._send({"action": action, **fields, "requestId": request_id})
        try:
            return await started
        finally:
            self._starts.pop(request_id, None)
            self._answers.pop(request_id, None)

    async def request(self, message: Frame) -> Frame:
        """Send a control message (``cancel``, ``ping``, a reply route…) and await its answer."""
        request_id = self._request_id()
        answer: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = lambda frame: _settle(answer, frame)
        await self._send({**message, "requestId": request_id})
        try:
            frame = await answer
        finally:
            self._answers.pop(request_id, None)
        if frame.get("type") in ("error", "RUN_ERROR") and not frame.get("runId"):
            raise ClientError(str(frame.get("message", "error")))
        return frame

    def _request_id(self) -> str:
        return f"c{next(self._ids)}"

    async def _send(self, message: Frame) -> None:
        import websockets

        # A send on a dropped socket is not lost: the reader reconnects and resumes the runs.
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(json.dumps(message))

    async def _read(self) -> None:
        import websockets

        while True:
            try:
                async for raw in self._ws:
                    self._route(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            if self._closed or not await self._reconnect():
                return

    def _route(self, frame: Frame) -> None:
        request_id = frame.get("requestId")
        answer = self._answers.get(request_id) if isinstance(request_id, str) else None
        if answer is not None:
            answer(frame)
            return
        run_id = frame.get("runId")
        if frame.get("type") == "RUN_STARTED" and run_id not in self.runs:
            self._started(frame)
        run = self.runs.get(run_id) if isinstance(run_id, str) else None
        if run is not None:
            run.feed(frame)

    def _started(self, frame: Frame) -> None:
        request_id = (frame.get("input") or {}).get("requestId")
        started = self._starts.get(request_id) if isinstance(request_id, str) else None
        if started is None or started.done():
            return
        run = self.runs[frame["runId"]] = RunStream(self, frame["runId"])
        started.set_result(run)

    async def _reconnect(self) -> bool:
        """Reopen the socket and resume every open run; False (runs failed) when it cannot."""
        import websockets

        for start in self._starts.values():
            if not start.done():
                start.set_exception(ConnectionLost("the socket dropped before the run started"))
        delay = self.delay_s
        for attempt in range(1, self.attempts + 1):
            try:
                self._ws = await self._open()
            except (OSError, websockets.WebSocketException):
                logger.info("attempt=%d | reconnect failed", attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            for run in self.runs.values():
                if not run.done:
                    await self._resume(run)
            return True
        for run in self.runs.values():
            run.fail(ConnectionLost(f"could not reconnect to {self.url}"))
        return False

    async def _resume(self, run: RunStream) -> None:
        request_id = self._request_id()

        def answered(frame: Frame) -> None:
            self._answers.pop(request_id, None)
            if frame.get("state") in ("expired", "unknown"):
                run.fail(ClientError(f"run {run.run_id} cannot resume: {frame.get('state')}"))

        self._answers[request_id] = answered
        logger.info("run=%s seq=%d | resuming", run.run_id, run.last_seq)
        await self._send(
            {
                "action": "resume",
                "runId": run.run_id,
                "lastSeq": run.last_seq,
                "requestId": request_id,
            }
        )


def _refuse(started: asyncio.Future[RunStream], frame: Frame) -> None:
    """A start's requestId came back on an error frame: the server refused it."""
    if not started.done():
        started.set_exception(ClientError(str(frame.get("message", "refused"))))


def _settle(answer: asyncio.Future[Frame], frame: Frame) -> None:
    if not answer.done():
        answer.set_result(frame)


def _with_coalesce(url: str, coalesce: str) -> str:
    """``url`` with ``?coalesce=`` added, unless it names one or ``coalesce`` is empty."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not coalesce or any(key == "coalesce" for key, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, ("coalesce", coalesce)])))


def _cookie_from(set_cookies: list[str]) -> str | None:
    """Our identity cookie's value among ``Set-Cookie`` headers, if the server sent one."""
    for header in set_cookies:
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0].strip() or None
    return None
