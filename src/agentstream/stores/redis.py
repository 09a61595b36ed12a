"""The scale-out store: Redis, shared by every gateway node of a cluster.

Keys (under the store's ``prefix``):

- ``conn:<id>`` hash, native TTL; ``conns`` and ``conns:u:<user>`` sorted sets (score
  ``connected_at``) list them.
- ``run:<id>`` hash (owner, app, state, times, meta, and ``node``: the node that runs it), native
  TTL; ``runs:exp`` sorted set (score ``expires_at``) for :meth:`purge_expired`.
- ``run:<id>:log`` a Redis Stream: entry id ``<seq>-0``, field ``d`` = the event's JSON text,
  capped with ``MAXLEN`` at ``limits.max_events_per_run`` and expiring with its run. Stream order
  *is* seq order, so any node replays with ``XRANGE ... COUNT`` and follows a live run with
  ``XREAD BLOCK`` from the last id it sent: no gap and no duplicate (:mod:`agentstream.cluster`).
- ``thread:<id>`` a list of JSON messages (``RPUSH`` answers the position atomically).
- ``secret``: 32 random bytes every node shares (:meth:`RedisStore.shared_secret`).

Apps keep their records beside these (CalledIt's calls: ``apps/calledit/records/redis.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final, cast

import orjson

from agentstream.stores.errors import Conflict, InvalidRecord, NotFound, StoreError
from agentstream.stores.redis_base import (
    APPEND,
    PUT_RUN,
    SET_STATE,
    RedisBase,
    native_ttl_ms,
)
from agentstream.stores.rows import ConnectionRow, RunRow, RunState
from agentstream.stores.validation import (
    check_events,
    check_id,
    check_message,
    check_meta,
    check_state,
)

logger = logging.getLogger(__name__)

SECRET_BYTES: Final = 32


def _conn_row(conn_id: str, h: Mapping[str, str]) -> ConnectionRow:
    return ConnectionRow(
        conn_id,
        h["user_id"],
        float(h["connected_at"]),
        float(h["expires_at"]),
        orjson.loads(h["meta"]),
    )


def _run_row(run_id: str, h: Mapping[str, str]) -> RunRow:
    return RunRow(
        run_id,
        h["owner"],
        h["app"],
        cast(RunState, h["state"]),
        float(h["created_at"]),
        float(h["updated_at"]),
        float(h["expires_at"]),
        orjson.loads(h["meta"]),
    )


def entry_seq(entry_id: str) -> int:
    """The seq of a run log's stream entry (its id is ``<seq>-0``)."""
    return int(entry_id.split("-", 1)[0])


class RedisStore(RedisBase):
    """A :class:`~agentstream.stores.protocols.Store` on Redis (connections, runs, threads)."""

    # --- connections ------------------------------------------------------------------------

    async def put_connection(
        self,
        conn_id: str,
        user_id: str,
        connected_at: float,
        ttl_s: float,
        meta: Mapping[str, Any] | None = None,
    ) -> ConnectionRow:
        """Record (or refresh) a connection that expires ``ttl_s`` seconds from now."""
        check_id("conn_id", conn_id)
        check_id("user_id", user_id)
        meta_text = check_meta(meta, self.limits.max_meta_bytes)
        expires_at = self.expiry(ttl_s)
        row = ConnectionRow(conn_id, user_id, float(connected_at), expires_at, dict(meta or {}))
        fields = {
            "user_id": user_id,
            "connected_at": repr(row.connected_at),
            "expires_at": repr(row.expires_at),
            "meta": meta_text,
        }
        key = self.key("conn", conn_id)
        old = await self.call(self.client.hget, key, "user_id")
        pipe = self.client.pipeline(transaction=True)
        if old is not None and old != user_id:
            pipe.zrem(self.key("conns", "u", old), conn_id)
        pipe.hset(key, mapping=fields)
        pipe.pexpire(key, native_ttl_ms(row.expires_at, self.now()))
        pipe.zadd(self.key("conns"), {conn_id: row.connected_at})
        pipe.zadd(self.key("conns", "u", user_id), {conn_id: row.connected_at})
        await self.call(pipe.execute)
        return row

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""
        h = await self.call(self.client.hgetall, self.key("conn", conn_id))
        if not h or float(h["expires_at"]) <= self.now():
            return None
        return _conn_row(conn_id, h)

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""
        key = self.key("conn", conn_id)
        user = await self.call(self.client.hget, key, "user_id")
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.zrem(self.key("conns"), conn_id)
        if user is not None:
            pipe.zrem(self.key("conns", "u", user), conn_id)
        await self.call(pipe.execute)

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone, oldest first."""
        index = self.key("conns") if user_id is None else self.key("conns", "u", user_id)
        ids: list[str] = await self.call(self.client.zrange, index, 0, -1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for conn_id in ids:
            pipe.hgetall(self.key("conn", conn_id))
        hashes = await self.call(pipe.execute)
        now = self.now()
        return [
            _conn_row(conn_id, h)
            for conn_id, h in zip(ids, hashes, strict=True)
            if h and float(h["expires_at"]) > now
        ]

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run logs; returns how many records went."""
        now = self.now() if now is None else now
        gone = 0
        for conn in await self._stale_connections(now):
            await self.delete_connection(conn)
            gone += 1
        index = self.key("runs:exp")
        runs: list[str] = await self.call(self.client.zrangebyscore, index, "-inf", now)
        for run_id in runs:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(self.key("run", run_id), self.key("run", run_id, "log"))
            pipe.zrem(self.key("runs:exp"), run_id)
            deleted, _ = await self.call(pipe.execute)
            gone += int(deleted)
        return gone

    async def _stale_connections(self, now: float) -> list[str]:
        ids: list[str] = await self.call(self.client.zrange, self.key("conns"), 0, -1)
        pipe = self.client.pipeline(transaction=False)
        for conn_id in ids:
            pipe.hget(self.key("conn", conn_id), "expires_at")
        expiries = await self.call(pipe.execute) if ids else []
        return [c for c, e in zip(ids, expiries, strict=True) if e is None or float(e) <= now]

    # --- runs -------------------------------------------------------------------------------

    async def put_run(
        self,
        run_id: str,
        owner: str,
        app: str,
        state: RunState = RunState.RUNNING,
        ttl_s: float = 3600,
        meta: Mapping[str, Any] | None = None,
    ) -> RunRow:
        """Create a run header, owned by this node; Conflict if the id exists."""
        row = self.new_run_row(run_id, owner, app, state, ttl_s, meta)
        now = row.created_at
        fields = {
            "owner": owner,
            "app": app,
            "state": str(row.state),
            "created_at": repr(now),
            "updated_at": repr(now),
            "expires_at": repr(row.expires_at),
            "meta": check_meta(meta, self.limits.max_meta_bytes),
            "node": self.node,
        }
        keys = [self.key("run", run_id), self.key("run", run_id, "log"), self.key("runs:exp")]
        flat = [v for pair in fields.items() for v in pair]
        ttl = native_ttl_ms(row.expires_at, now)
        if not await self.script(PUT_RUN, keys, [run_id, ttl, row.expires_at, *flat]):
            raise Conflict(f"run {run_id} already exists")
        return row

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""
        h = await self.call(self.client.hgetall, self.key("run", run_id))
        if not h or float(h["expires_at"]) <= self.now():
            return None
        return _run_row(run_id, h)

    async def run_node(self, run_id: str) -> str | None:
        """The node that runs (or ran) ``run_id``, or None when unknown."""
        node: str | None = await self.call(self.client.hget, self.key("run", run_id), "node")
        return node

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""
        state = check_state(state)
        flat = await self.script(SET_STATE, [self.key("run", run_id)], [self.now(), str(state)])
        if not flat:
            raise NotFound(f"run {run_id} not found")
        return _run_row(run_id, dict(zip(flat[::2], flat[1::2], strict=True)))

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Add ``(seq, json_text)`` events to the run's stream in one script (atomic).

        Raises:
            NotFound: The run is unknown or expired.
            Conflict: A seq is stored with different text, or comes after a later seq.
            LimitExceeded: A seq is above ``limits.max_events_per_run``.
        """
        batch = check_events(events, self.limits.max_events_per_run, self.limits.max_event_bytes)
        if not batch:
            return
        keys = [self.key("run", run_id), self.key("run", run_id, "log")]
        args: list[Any] = [self.now(), self.limits.max_events_per_run]
        for seq, text in batch:
            args += [seq, text]
        verdict, seq = await self.script(APPEND, keys, args)
        if verdict == "not_found":
            raise NotFound(f"run {run_id} not found")
        if verdict == "conflict":
            raise Conflict(f"run {run_id} seq {seq} is already stored with different data")
        if verdict == "out_of_order":
            raise Conflict(f"run {run_id} seq {seq} comes after a later seq")

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise InvalidRecord("limit", "must be a non-negative integer")
        if limit == 0:
            return []
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.key("run", run_id), "expires_at")
        pipe.xrange(self.key("run", run_id, "log"), f"{max(after_seq, 0) + 1}-0", "+", count=limit)
        expires, entries = await self.call(pipe.execute)
        if expires is None or float(expires) <= self.now():
            return []
        return [(entry_seq(entry_id), fields["d"]) for entry_id, fields in entries]

    # --- chat messages ----------------------------------------------------------------------

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message to a thread; returns its position (1, 2, 3...)."""
        text = check_message(message, self.limits.max_message_bytes)
        key = self.key("thread", check_id("thread_id", thread_id))
        return int(await self.call(self.client.rpush, key, text))

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""
        if limit == 0:
            return []
        start = -limit if limit is not None else 0
        texts = await self.call(self.client.lrange, self.key("thread", thread_id), start, -1)
        return [orjson.loads(t) for t in texts]

    # --- the cluster's shared secret ----------------------------------------------------------

    async def shared_secret(self) -> bytes:
        """32 random bytes, the same on every node of this Redis (created once, atomically).

        The first node to ask creates it with ``SET NX``; every later ask, on any node, reads the
        same value. Identity signs its cookies with it, so a cookie from one node is good on all.
        """
        key = self.key("secret")
        fresh = os.urandom(SECRET_BYTES).hex()
        await self.call(self.client.set, key, fresh, nx=True)
        stored = await self.call(self.client.get, key)
        if not stored:
            raise StoreError("the shared secret vanished between SET NX and GET")
        return bytes.fromhex(stored)
