"""How much one user, connection or IP may ask for: rate limits and connection caps.

Rates use the well-kept ``limits`` package (moving windows). Storage is in memory for now, so
limits hold per process; Redis storage (``limits.storage.RedisStorage``), which makes them hold
across the nodes of a cluster, comes with the Redis store of issue 15.

- runs per user per minute: the next run is refused with :class:`RateLimited` (``retryAfter``);
- frames per second per connection: a frame over the rate gets a ``rate_limited`` error frame,
  and a connection that keeps flooding (as many refused frames again within a second) is closed;
- open connections per IP and per user: counted here, refused before the upgrade.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from enum import Enum
from typing import ClassVar

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from agentstream.errors import AgentstreamError
from agentstream.gateway.settings import Settings


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
        # In memory for now; RedisStorage here makes the windows shared by nodes (issue 15).
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._runs = RateLimitItemPerMinute(max(settings.runs_per_minute, 1))
        self._frames = RateLimitItemPerSecond(max(settings.frames_per_second, 1))
        self._open_by_ip: Counter[str] = Counter()
        self._open_by_user: Counter[str] = Counter()

    def hit_run(self, user: str) -> None:
        """Count one run of ``user``.

        Raises:
            RateLimited: ``user`` already started as many runs as allowed in the last minute.
        """
        if self.settings.runs_per_minute <= 0 or self._limiter.hit(self._runs, "run", user):
            return
        reset = self._limiter.get_window_stats(self._runs, "run", user).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"too many runs (limit {self.settings.runs_per_minute} per minute); "
            f"retry in {retry_after} s",
            retry_after,
        )

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
        if per_ip > 0 and self._open_by_ip[ip] >= per_ip:
            return f"too many connections from this address (limit {per_ip})"
        if per_user > 0 and self._open_by_user[user] >= per_user:
            return f"too many connections for this user (limit {per_user})"
        self._open_by_ip[ip] += 1
        self._open_by_user[user] += 1
        return None

    def disconnect(self, ip: str, user: str) -> None:
        """Uncount a socket :meth:`connect` let in."""
        for counter, key in ((self._open_by_ip, ip), (self._open_by_user, user)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]
