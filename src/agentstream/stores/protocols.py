"""What a store offers, by noun: connections, run logs and chat threads, and their union.

Code that needs only one noun asks for the narrow protocol (the run recorder takes a
:class:`RunLogStore`, a chat app a :class:`ThreadStore`), so a test can hand it a small fake and a
later backend can implement one noun at a time. The gateway holds a :class:`Store`, the union.
Apps keep their own records beside these (CalledIt's calls: ``apps/calledit/records``) on the
same backend; the framework's protocols know nothing about them.

All methods are coroutines and raise :class:`~agentstream.stores.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from agentstream.stores.rows import (
    ConnectionRow,
    ConnectionWrite,
    Limits,
    RunRow,
    RunState,
    RunWrite,
)


class Lifecycle(Protocol):
    """Opening, closing and the bounds every store shares."""

    limits: Limits

    async def open(self) -> None:
        """Connect, and create or migrate the schema where the backend owns it."""

    async def close(self) -> None:
        """Release connections; idempotent."""

    async def __aenter__(self) -> Self:
        """Open the store."""

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many rows went."""


class ConnectionStore(Lifecycle, Protocol):
    """Live client connections, each with a TTL."""

    async def put_connection(
        self,
        conn_id: str,
        user_id: str,
        connected_at: float,
        ttl_s: float,
        meta: Mapping[str, Any] | None = None,
    ) -> ConnectionRow:
        """Record (or refresh) a connection that expires ``ttl_s`` seconds from now."""

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""

    async def record_connections(self, puts: list[ConnectionWrite], deletes: list[str]) -> None:
        """Record (or refresh) ``puts`` then forget ``deletes``, as cheaply as the store can.

        Raises:
            StoreError: Some of them may not be written; retrying them all is safe.
        """


class RunLogStore(Lifecycle, Protocol):
    """Run headers and their bounded event logs, so another node can replay a run."""

    async def put_run(
        self,
        run_id: str,
        owner: str,
        app: str,
        state: RunState = RunState.RUNNING,
        ttl_s: float = 3600,
        meta: Mapping[str, Any] | None = None,
    ) -> RunRow:
        """Create a run header; its log expires with it. Conflict if the id exists."""

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events; rewriting a seq with the same text is a no-op.

        Raises:
            NotFound: The run is unknown or expired.
            Conflict: A seq is already stored with different text (events before it may stay).
            LimitExceeded: A seq is above ``limits.max_events_per_run``.
        """

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""

    async def record_runs(self, writes: list[RunWrite]) -> list[BaseException | None]:
        """Apply several runs' writes (header, rows, end state) in one go, as cheaply as it can.

        Returns one outcome per write, in order: None when it landed, else what it raised. One
        write failing never fails another. A failed write may keep the rows before the one that
        failed (as :meth:`append_events` may), never its end state; retrying it is safe.
        """


class ThreadStore(Lifecycle, Protocol):
    """Chat threads: ordered JSON messages."""

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message to a thread; returns its position (1, 2, 3...)."""

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""


class Store(ConnectionStore, RunLogStore, ThreadStore, Protocol):
    """Every noun at once: what a backend implements and what the gateway holds."""
