"""How much one user, connection or IP may ask for: rate limits and connection caps.

Rates use the well-kept ``limits`` package (moving windows). With a Redis store (a cluster) the
per-user run windows live in that Redis (``limits.storage.RedisStorage``) and the open-socket
counts are Redis counters, so every node counts against the same numbers; with any other store
they are in memory and hold per process. Frame rates stay in memory either way: a connection
lives on one node, so its frames are only ever counted there.

- runs per user per minute: the next run is refused with :class:`RateLimited` (``retryAfter``);
- frames per second per connection: a frame over the rate gets a ``rate_limited`` error frame,
  and a connection that keeps flooding (as many refused frames again within a second) is closed;
- open connections per IP and per user: counted here, refused before the upgrade;
- live runs per user (``max_active_runs_per_user``): in a cluster, a Redis sorted set per user
  (:class:`RedisLiveRuns`) on top of each node's own count in the run registry.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from enum import Enum
from typing import ClassVar, Protocol

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from agentstream.errors import AgentstreamError
from agentstream.gateway.settings import Settings
from agentstream.runs.registry import TooManyRuns

logger = logging.getLogger(__name__)


class RateLimited(AgentstreamError):
    """Too many requests in a window; ``retry_after`` says when one more will pass (seconds)."""

    code: ClassVar[str] = "rate_limited"
    http_status: ClassVar[int] = 429

    def __init__(self, message: str, retry_after: int) -> None:
        """Refuse with ``message``; a retry after ``retry_after`` seconds passes."""
        super().__init__(message)
        self.retry_after = retry_after


class Frame(Enum):
    """What to do with a client frame under the frame rate."""

    OK = "ok"
    REFUSED = "refused"
    FLOOD = "flood"


class Limits:
    """The rate limits and connection caps of one gateway process."""

    def __init__(self, settings: Settings) -> None:
        """Enforce the limits ``settings`` configures (0 turns a limit off)."""
        self.settings = settings
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        shared = _cluster_redis(settings.store)
        self._open: OpenCounts = MemoryCounts()
        self._run_limiter = self._limiter
        # Live runs per user across nodes (each node's registry counts its own either way).
        self.live: RedisLiveRuns | None = None
        if shared is not None:
            url, prefix, lease = shared
            self.live = RedisLiveRuns(url, prefix, lease_s=lease)
            storage: Storage = RedisStorage(url, key_prefix=f"{prefix}limits")
            self._run_limiter = MovingWindowRateLimiter(storage)
            self._open = RedisCounts(url, f"{prefix}open:", ttl_s=settings.connection_ttl_s)
        self._runs = RateLimitItemPerMinute(max(settings.runs_per_minute, 1))
        self._frames = RateLimitItemPerSecond(max(settings.frames_per_second, 1))

    def hit_run(self, user: str) -> None:
        """Count one run of ``user``.

        Raises:
            RateLimited: ``user`` already started as many runs as allowed in the last minute.
        """
        if self.settings.runs_per_minute <= 0 or self._run_limiter.hit(self._runs, "run", user):
            return
        reset = self._run_limiter.get_window_stats(self._runs, "run", user).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"too many runs (limit {self.settings.runs_per_minute} per minute); "
            f"retry in {retry_after} s",
            retry_after,
        )

    def take_live(self, user: str, run_id: str) -> None:
        """Count ``run_id`` as one of ``user``'s live runs across the cluster (no-op alone).

        Raises:
            TooManyRuns: ``user`` already holds as many live runs on all nodes as allowed.
        """
        limit = self.settings.max_active_runs_per_user
        if self.live is None or limit <= 0:
            return
        held = self.live.take(user, run_id, limit)
        if held is not None:
            raise TooManyRuns(f"too many runs in progress ({held}; the limit is {limit})")

    def end_live(self, user: str, run_id: str) -> None:
        """Uncount a run :meth:`take_live` counted (it ended, or it was refused after all)."""
        if self.live is not None:
            self.live.release(user, run_id)

    def hit_frame(self, connection_id: str) -> Frame:
        """Count one frame of a connection: allowed, refused, or part of a flood to close."""
        if self.settings.frames_per_second <= 0:
            return Frame.OK
        if self._limiter.hit(self._frames, "frame", connection_id):
            return Frame.OK
        if self._limiter.hit(self._frames, "refused", connection_id):
            return Frame.REFUSED
        return Frame.FLOOD

    def connect(self, ip: str, user: str) -> str | None:
        """Count a new socket; the reason it is refused (nothing is counted then), else None."""
        per_ip = self.settings.max_connections_per_ip
        per_user = self.settings.max_connections_per_user
        if per_ip <= 0 and per_user <= 0:
            return None  # nothing to count against: not even a round trip to Redis
        keys = [f"ip:{ip}", f"user:{user}"]
        counts = self._open.add(keys, 1)
        if per_ip > 0 and counts[0] > per_ip:
            self._open.add(keys, -1)
            return f"too many connections from this address (limit {per_ip})"
        if per_user > 0 and counts[1] > per_user:
            self._open.add(keys, -1)
            return f"too many connections for this user (limit {per_user})"
        return None

    def disconnect(self, ip: str, user: str) -> None:
        """Uncount a socket :meth:`connect` let in."""
        if self.settings.max_connections_per_ip > 0 or self.settings.max_connections_per_user > 0:
            self._open.add([f"ip:{ip}", f"user:{user}"], -1)


class OpenCounts(Protocol):
    """Open-socket counters by key."""

    def add(self, keys: list[str], delta: int) -> list[int]:
        """Add ``delta`` to each key's count; the counts after."""
        ...


class MemoryCounts:
    """Counts of this process only."""

    def __init__(self) -> None:
        """Start from zero."""
        self._counts: Counter[str] = Counter()

    def add(self, keys: list[str], delta: int) -> list[int]:
        """Add ``delta`` to each key's count; the counts after (a key at zero is forgotten)."""
        out = []
        for key in keys:
            self._counts[key] += delta
            out.append(self._counts[key])
            if self._counts[key] <= 0:
                del self._counts[key]
        return out


class RedisCounts:
    """Counts every node shares, as Redis counters.

    Each count expires ``ttl_s`` after its last change, so the sockets of a node that died
    without saying goodbye stop counting at the latest when a connection row would expire. Why
    synchronous: a count is taken once per socket, before the upgrade, and is one round trip
    (a pipeline) to a Redis on the local network.
    """

    def __init__(self, url: str, prefix: str, *, ttl_s: float) -> None:
        """Count under ``prefix`` in the Redis at ``url``."""
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._ttl = max(1, int(ttl_s))

    def add(self, keys: list[str], delta: int) -> list[int]:
        """Add ``delta`` to each key's count; the counts after."""
        pipe = self._redis.pipeline(transaction=True)
        for key in keys:
            pipe.incrby(self._prefix + key, delta)
            pipe.expire(self._prefix + key, self._ttl)
        replies = pipe.execute()
        return [int(n) for n in replies[::2]]


def _cluster_redis(store: str | None) -> tuple[str, str, float] | None:
    """The Redis URL, key prefix and node lease of a cluster's store; None for one process."""
    if not store or not store.startswith(("redis://", "rediss://")):
        return None
    from agentstream.stores import open_store
    from agentstream.stores.redis import RedisStore

    redis_store = open_store(store)  # builds it, connects nothing
    if not isinstance(redis_store, RedisStore):
        return None
    return redis_store.url, redis_store.prefix, redis_store.lease


# KEYS[1] the user's set; ARGV: run id, limit, slot ms. Drops expired slots, then adds one if
# there is room: {1, count} taken, {0, count} refused. Redis's clock, so nodes' clocks never
# disagree on a deadline.
TAKE_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, n + 1}
"""

# KEYS: users' sets; ARGV[1] slot ms, ARGV[i+1] the run id in KEYS[i]. Pushes back the deadline
# of slots still held (XX: a slot already dropped is not revived).
RENEW_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ms, ARGV[i + 1])
  redis.call('PEXPIRE', key, ms)
end
return #KEYS
"""


def live_key(prefix: str, user: str) -> str:
    """The Redis key of ``user``'s live-run slots (the same as ``RedisStore.key("live", user)``)."""
    return f"{prefix}live:{user}"


class RedisLiveRuns:
    """Each user's live runs on every node: a sorted set of run ids scored by a deadline.

    Why a set with deadlines rather than a counter: a node killed with ``kill -9`` never says
    its runs ended, and a counter would keep their slots forever. A slot lasts one node lease;
    the node running the run renews it with its heartbeat
    (:meth:`agentstream.cluster.node.ClusterNode.heartbeat`), and it is removed when the run
    ends. So a dead node's runs stop counting within a lease, as its runs are marked
    ``node_lost``. Synchronous for the reason :class:`RedisCounts` is: one round trip per run
    start, before the run exists.
    """

    def __init__(self, url: str, prefix: str, *, lease_s: float) -> None:
        """Keep the sets under ``prefix`` in the Redis at ``url``; a slot lasts ``lease_s``."""
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self.slot_ms = max(1, int(lease_s * 1000))

    def take(self, user: str, run_id: str, limit: int) -> int | None:
        """Hold a slot for ``run_id``: None when taken, else how many ``user`` already holds."""
        key = live_key(self._prefix, user)
        taken, held = self._redis.eval(TAKE_LIVE, 1, key, run_id, limit, self.slot_ms)
        return None if int(taken) else int(held)

    def release(self, user: str, run_id: str) -> None:
        """Give ``run_id``'s slot back (an unreachable Redis only delays it: the slot expires)."""
        import redis

        try:
            self._redis.zrem(live_key(self._prefix, user), run_id)
        except redis.RedisError:
            logger.warning("run=%s | live slot not released; it expires", run_id, exc_info=True)
