"""Server settings, from CLI flags or ``AGENTSTREAM_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# API Gateway refuses WebSocket messages over 128 KB (counted in bytes, a message of exactly
# this size passes); refusing them here keeps apps portable.
MAX_MESSAGE_BYTES = 128 * 1024


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class Settings:
    """Knobs of one gateway process."""

    model: str = field(default_factory=lambda: os.environ.get("AGENTSTREAM_MODEL", "local"))
    # A store URL (see agentstream.stores); None: SQLite under the data dir; "none": no store.
    store: str | None = field(default_factory=lambda: os.environ.get("AGENTSTREAM_STORE"))
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # Frames waiting for one slow client; past this it is closed with 1013 (try again later).
    send_queue_frames: int = 4096
    detach_grace_s: float = field(
        default_factory=lambda: _env_float("AGENTSTREAM_DETACH_GRACE", 60)
    )
    log_capacity: int = 10_000
    # Finished runs kept in memory for replay (older ones replay from the store).
    max_finished_runs: int = 1000
    # Live runs one user may hold at once; one more is refused with too_many_runs.
    max_active_runs_per_user: int = 20
    # Browser origins allowed besides the server's own (WebSocket upgrades and unsafe requests).
    allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            o for o in os.environ.get("AGENTSTREAM_ALLOWED_ORIGINS", "").split(",") if o.strip()
        )
    )
    # Largest HTTP request body on /api/* (the WebSocket message limit by default).
    max_body_bytes: int = MAX_MESSAGE_BYTES
    # How long a run's recorded events stay replayable, and a connection row lives.
    run_ttl_s: float = 24 * 3600
    connection_ttl_s: float = 2 * 3600
    # Window for merging text deltas per connection (0: send each delta as it comes).
    coalesce_s: float = field(
        default_factory=lambda: _env_float("AGENTSTREAM_COALESCE_MS", 0) / 1000
    )
    # For clients that did not say (?coalesce=auto|off): merge text deltas still waiting for a
    # busy socket into one frame (no delay added; merged frames carry firstSeq). Off by default,
    # so a client that reads a skipped seq as loss sees one frame per event.
    merge_waiting: bool = field(
        default_factory=lambda: os.environ.get("AGENTSTREAM_MERGE_WAITING", "0") == "1"
    )
    # Runs one user may start per minute (a moving window); one more is refused with
    # rate_limited and retryAfter (HTTP 429 with Retry-After). 0 turns the limit off.
    runs_per_minute: int = field(
        default_factory=lambda: _env_int("AGENTSTREAM_RUNS_PER_MINUTE", 60)
    )
    # Frames one connection may send per second; more get a rate_limited error frame, and a
    # connection that keeps flooding (as many refused frames again in a second) is closed 1008.
    frames_per_second: int = field(
        default_factory=lambda: _env_int("AGENTSTREAM_FRAMES_PER_SECOND", 50)
    )
    # Open sockets per client IP and per user; one more is refused before the upgrade (HTTP 429).
    max_connections_per_ip: int = field(
        default_factory=lambda: _env_int("AGENTSTREAM_MAX_CONNECTIONS_PER_IP", 200)
    )
    max_connections_per_user: int = field(
        default_factory=lambda: _env_int("AGENTSTREAM_MAX_CONNECTIONS_PER_USER", 100)
    )
    # A socket that sent nothing for this long and streams no live run is closed (1001).
    idle_timeout_s: float = field(
        default_factory=lambda: _env_float("AGENTSTREAM_IDLE_TIMEOUT", 600)
    )
    # Identity (docs/security.md): off (signed anonymous cookie), jwt, or apikey (a token is
    # required). `serve` turns it on by itself when listening beyond loopback.
    auth: str = field(default_factory=lambda: os.environ.get("AGENTSTREAM_AUTH", "off"))
    # The cookie signing secret; None: the store's shared secret, else secret.key by the data.
    secret: str | None = field(default_factory=lambda: os.environ.get("AGENTSTREAM_SECRET"))
    # JWT: an HS256 secret, or a JWKS file path / URL for RS256 and ES256; aud and iss to check.
    jwt_secret: str | None = field(default_factory=lambda: os.environ.get("AGENTSTREAM_JWT_SECRET"))
    jwks: str | None = field(default_factory=lambda: os.environ.get("AGENTSTREAM_JWKS"))
    jwt_audience: str | None = field(
        default_factory=lambda: os.environ.get("AGENTSTREAM_JWT_AUDIENCE")
    )
    jwt_issuer: str | None = field(default_factory=lambda: os.environ.get("AGENTSTREAM_JWT_ISSUER"))
    # The API key hashes file; None: api-keys.json next to the data.
    api_keys_file: str | None = field(
        default_factory=lambda: os.environ.get("AGENTSTREAM_API_KEYS")
    )
