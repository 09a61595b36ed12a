"""The Redis plumbing under :class:`~agentstream.stores.redis.RedisStore`: client, keys, scripts.

One ``redis.asyncio`` client per store (its own connection pool). Every key sits under one
``prefix`` (default ``agentstream:``), so several deployments or tests share one Redis without
seeing each other. Writes that must check-and-set (a run's log, a run's state) are Lua scripts:
Redis runs a script alone, so two nodes racing on one seq cannot both win.

Expiry is two-fold, as with DynamoDB: every record carries ``expires_at`` and readers filter on
it in code (the store's clock, which tests move by hand), and the keys also get a native TTL so
Redis frees them without a purge.

redis-py's errors are translated here, at the boundary: a refused or timed-out connection is
:class:`~agentstream.stores.errors.StoreUnavailable`; anything else Redis answers is a
:class:`~agentstream.stores.errors.StoreError`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from agentstream.stores.base import BaseStore
from agentstream.stores.errors import StoreError, StoreUnavailable
from agentstream.stores.rows import Limits

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PREFIX: Final = "agentstream:"
# Connections one store may open. A client following a run on another node holds one while
# its XREAD blocks (at most a second), so this bounds the followers served at once per node.
MAX_CONNECTIONS: Final = 1024

# KEYS: run hash, run log. ARGV: now, maxlen, then seq, text pairs.
# A seq above the log's last one is added (stream id "<seq>-0", so stream order is seq order);
# one at or below it must already be there with the same text.
APPEND: Final = """
local exp = redis.call('HGET', KEYS[1], 'expires_at')
if (not exp) or tonumber(exp) <= tonumber(ARGV[1]) then return {'not_found', 0} end
local last = 0
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #top > 0 then last = tonumber(string.match(top[1][1], '^(%d+)')) end
for i = 3, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  local id = ARGV[i] .. '-0'
  if seq > last then
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id, 'd', ARGV[i + 1])
    last = seq
  else
    local found = redis.call('XRANGE', KEYS[2], id, id)
    if #found == 0 then return {'out_of_order', seq} end
    if found[1][2][2] ~= ARGV[i + 1] then return {'conflict', seq} end
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl + 1000) end
return {'ok', last}
"""

# KEYS: run hash. ARGV: now, state. Returns the hash's fields, or nil when unknown or expired.
SET_STATE: Final = """
local exp = redis.call('HGET', KEYS[1], 'expires_at')
if (not exp) or tonumber(exp) <= tonumber(ARGV[1]) then return nil end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: run hash, run log, expiry index. ARGV: run id, ttl ms, expires_at, then field, value...
PUT_RUN: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""


def native_ttl_ms(expires_at: float, now: float) -> int:
    """The native TTL for a record that expires at ``expires_at`` (at least one second)."""
    return max(1000, math.ceil((expires_at - now) * 1000) + 1000)


class RedisBase(BaseStore):
    """A client on one Redis database, the key prefix, and error translation."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 5.0,
        node: str | None = None,
        lease: float | None = None,
        limits: Limits | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Configure the store; nothing connects until :meth:`open`.

        Args:
            url: ``redis://[user:pass@]host:port/db`` or ``rediss://`` (TLS), without query.
            prefix: Put in front of every key.
            timeout: Seconds a connect or a command may take before StoreUnavailable.
            node: This process's node id in the cluster (a random one by default).
            lease: Seconds a node's heartbeat lasts; a node silent for longer is dead
                (default ``$AGENTSTREAM_NODE_LEASE``, else 15).
            limits: Bounds on records and logs.
            clock: Epoch-seconds clock; tests pass a fake one to move time.
        """
        super().__init__(limits=limits, clock=clock)
        import uuid

        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.node = node or f"node-{uuid.uuid4().hex[:12]}"
        self.lease = lease or float(os.environ.get("AGENTSTREAM_NODE_LEASE") or 15)
        self._client: Redis | None = None
        self._scripts: dict[str, Any] = {}

    async def open(self) -> None:
        """Connect (lazily, on the first command) and check the server answers."""
        if self._client is not None:
            return
        client = self.new_client(MAX_CONNECTIONS)
        self._client = client
        try:
            await self.call(client.ping)
        except StoreError:
            self._client = None
            await client.aclose()
            raise
        logger.info(
            "redis store | opened url=%s prefix=%s node=%s", _safe(self.url), self.prefix, self.node
        )

    def new_client(self, max_connections: int) -> Any:
        """A client with a pool of its own, of at most ``max_connections`` connections.

        The pool blocks (up to ``timeout``) when all its connections are busy rather than failing
        at once: a burst of runs waits its turn instead of losing its records. Work that must
        never queue behind that burst (a node's heartbeat) takes a client of its own.
        """
        from redis.asyncio import BlockingConnectionPool, Redis

        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=max_connections,
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            decode_responses=True,
        )
        return Redis.from_pool(pool)

    async def close(self) -> None:
        """Close the client and its pool; idempotent."""
        client, self._client = self._client, None
        self._scripts = {}
        if client is not None:
            await client.aclose()

    @property
    def client(self) -> Any:
        """The open client (typed loosely: redis-py types decoded replies as ``bytes | str``).

        Raises:
            StoreError: The store is not open.
        """
        if self._client is None:
            raise StoreError("store is not open")
        return self._client

    def key(self, *parts: str) -> str:
        """A key under the prefix: ``key("run", "r1")`` is ``agentstream:run:r1``."""
        return self.prefix + ":".join(parts)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await one redis-py call, translating its errors into the store's tree."""
        from redis import exceptions as rx

        try:
            return await fn(*args, **kwargs)
        except (rx.ConnectionError, rx.TimeoutError, rx.BusyLoadingError, OSError) as exc:
            raise StoreUnavailable(f"redis {_safe(self.url)}: {exc}") from exc
        except rx.RedisError as exc:
            raise StoreError(f"redis {_safe(self.url)}: {exc}") from exc

    async def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script atomically (EVALSHA, loading it once)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return await self.call(script, keys=keys, args=args, client=self.client)


def _safe(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
