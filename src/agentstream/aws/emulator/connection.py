"""One client WebSocket as API Gateway holds it, on websockets' sans-I/O protocol.

Why sans-I/O rather than a server library: API Gateway's rules sit below what ASGI or the
websockets server expose — a frame over 32 KB closes with 1009 even when the message is small
enough, the upgrade waits for ``$connect`` and may end as a plain HTTP 401/403, and an idle
connection closes with 1001. ``ServerProtocol(max_size=(message, frame))`` enforces both size
rules; this class adds the socket, the assembly of fragments and the activity clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from agentstream.aws.emulator.events import ConnectionInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """API Gateway's WebSocket quotas (its defaults), configurable for tests."""

    frame_bytes: int = 32 * 1024
    message_bytes: int = 128 * 1024
    idle_seconds: float = 600.0
    max_seconds: float = 7200.0
    integration_timeout: float = 29.0


class WsConnection:
    """A live connection: send, close, iterate the client's messages."""

    def __init__(
        self,
        proto: ServerProtocol,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: ConnectionInfo,
        limits: Limits,
    ) -> None:
        """Wrap an accepted protocol and its socket."""
        self.proto = proto
        self.reader = reader
        self.writer = writer
        self.info = info
        self.limits = limits
        self.opened = time.time()
        self.last_active = self.opened
        self._send_lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        """Whether the connection still accepts messages."""
        return self.proto.state is State.OPEN

    def flush(self) -> None:
        """Write whatever the protocol has queued; an empty chunk means half-close."""
        for chunk in self.proto.data_to_send():
            if chunk:
                self.writer.write(chunk)
            elif self.writer.can_write_eof():
                with contextlib.suppress(OSError):
                    self.writer.write_eof()
        if self.proto.close_expected() or self.proto.state is State.CLOSED:
            self.writer.close()

    async def send(self, data: bytes | str) -> None:
        """Send one message, split in frames of at most ``frame_bytes`` as API Gateway does."""
        payload = data.encode() if isinstance(data, str) else data
        text = isinstance(data, str) or _is_utf8(payload)
        step = self.limits.frame_bytes
        async with self._send_lock:
            if not self.open:
                raise ConnectionError("connection is closed")
            for start in range(0, max(len(payload), 1), step):
                part, fin = payload[start : start + step], start + step >= len(payload)
                if start:
                    self.proto.send_continuation(part, fin)
                elif text:
                    self.proto.send_text(part, fin)
                else:
                    self.proto.send_binary(part, fin)
            self.flush()
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
        self.last_active = time.time()

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake (the read loop ends when it completes)."""
        if self.open:
            self.proto.send_close(code, reason)
            self.flush()
            asyncio.get_running_loop().call_later(2.0, self.writer.close)

    @property
    def close_code(self) -> int:
        """The close code the connection ended with (1006 if none was exchanged)."""
        return int(self.proto.close_code or 1006)

    @property
    def close_reason(self) -> str:
        """The close reason the connection ended with."""
        return self.proto.close_reason or ""

    async def messages(self) -> AsyncIterator[str | bytes]:
        """The client's messages, assembled from frames, until the connection closes."""
        parts: list[bytes] = []
        binary = False
        while self.proto.state is not State.CLOSED:
            try:
                data = await self.reader.read(65536)
            except ConnectionError:
                data = b""
            if data:
                self.proto.receive_data(data)
            else:
                self.proto.receive_eof()
            for frame in self.proto.events_received():
                if not isinstance(frame, Frame):
                    continue
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    parts, binary = [], frame.opcode is Opcode.BINARY
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    parts.append(bytes(frame.data))
                    if frame.fin:
                        self.last_active = time.time()
                        body = b"".join(parts)
                        yield body if binary else body.decode()
            self.flush()
            if not data:
                break


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
