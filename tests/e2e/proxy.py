"""A TCP proxy a test can cut: every connection through it drops at once, as a flaky network does.

Used to drop a browser's SSE stream in the middle of a run (the server never learns why, exactly
as when a mobile network or a proxy goes away).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class Proxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``upstream``."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            with self._lock:
                self.accepted += 1
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def drop(self) -> int:
        """Cut every open connection (both sides); how many pairs were cut."""
        with self._lock:
            cut, self._open = self._open, []
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(cut) // 2

    def close(self) -> None:
        """Stop accepting and cut what is open."""
        self._listener.close()
        self.drop()


@contextlib.contextmanager
def proxy_to(port: int) -> Iterator[Proxy]:
    """A :class:`Proxy` to ``port`` for the length of the block."""
    proxy = Proxy(port)
    try:
        yield proxy
    finally:
        proxy.close()
