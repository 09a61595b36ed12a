"""What a store hands back: frozen rows for connections and runs, and the bounds it enforces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# One RunState for the whole project: the run's own enum (its values are the stored strings).
from agentstream.runs.state import RunState as RunState

RUN_STATES: Final = frozenset(state.value for state in RunState)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a store enforces; every backend reads the same numbers.

    Attributes:
        max_events_per_run: Highest seq a run log accepts (seqs start at 1, without gaps).
        max_event_bytes: Largest single event's JSON text.
        max_meta_bytes: Largest serialized ``meta`` dict (connections, runs).
        max_message_bytes: Largest serialized chat message.
        max_page: Largest ``limit`` a listing accepts (the framework's and the apps' records).
    """

    max_events_per_run: int = 10_000
    max_event_bytes: int = 128 * 1024
    max_meta_bytes: int = 8 * 1024
    max_message_bytes: int = 64 * 1024
    max_page: int = 100


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """A live client connection. Times are Unix epoch seconds."""

    conn_id: str
    user_id: str
    connected_at: float
    expires_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run's header; its events live in the run log. Times are Unix epoch seconds."""

    run_id: str
    owner: str
    app: str
    state: RunState
    created_at: float
    updated_at: float
    expires_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectionWrite:
    """One connection row to record (or refresh), as ``put_connection`` takes it."""

    conn_id: str
    user_id: str
    connected_at: float
    ttl_s: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunWrite:
    """What one recording batch writes for one run, applied in this order.

    Attributes:
        run_id: The run.
        owner: Its owner, for the header.
        app: Its app, for the header.
        ttl_s: How long the header and its log are kept, from when the header is written.
        create: Write the header first (the run's first batch). A header that already exists is
            left as it is: run ids are unique, so it is this run's, from an earlier try.
        events: ``(seq, json_text)`` rows to append (same text again is a no-op).
        state: The end state to set after the rows, once the run ended; None while it runs.
    """

    run_id: str
    owner: str
    app: str
    ttl_s: float
    create: bool = False
    events: list[tuple[int, str]] = field(default_factory=list)
    state: RunState | None = None
