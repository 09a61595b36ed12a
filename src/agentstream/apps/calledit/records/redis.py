"""CalledIt's calls in Redis, beside a :class:`~agentstream.stores.redis.RedisStore`'s keys.

Keys (under the store's prefix):

- ``call:<user>:<call_id>`` hash: the call, its status and verdict;
- ``calls:u:<user>`` sorted set, all scores 0, members ``<created_us:017d>#<call_id>``: the lexical
  order is creation order, so a page is one ``ZREVRANGEBYLEX`` from the cursor;
- ``calls:due`` sorted set, members ``<date>#<created_us:017d>#<user>#<call_id>`` while pending
  (``#`` is in neither a user id nor a call id), read with ``ZRANGEBYLEX`` by ``verify --due``;
- ``calls:run:<user>:<run_id>``: the call logged from that run ("one call per run").

Each write is one Lua script, so the run guard and the call cannot be half-written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final, cast

import orjson

from agentstream.apps.calledit.records.base import CallRecords, Page, RunTaken
from agentstream.apps.calledit.records.rows import CallRow, CallStatus, Verdict, verdict_from_json
from agentstream.apps.calledit.records.validation import MAX_STAMP_US
from agentstream.stores.errors import Conflict
from agentstream.stores.redis import RedisStore

# KEYS: run guard, call hash, user index, due index. ARGV: has run, call id, user member,
# due member, then field, value...
_INSERT: Final = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 'run_taken' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'conflict' end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], ARGV[2]) end
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], 0, ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[4])
return 'ok'
"""

# KEYS: call hash, due index. ARGV: status, verdict, updated_us.
_VERDICT: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'due'))
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'verdict', ARGV[2], 'updated_us', ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""


def _row(h: Mapping[str, str]) -> CallRow:
    return CallRow(
        call_id=h["call_id"],
        user_id=h["user_id"],
        run_id=h.get("run_id") or None,
        record=orjson.loads(h["record"]),
        status=cast(CallStatus, h["status"]),
        created_at=int(h["created_us"]) / 1e6,
        updated_at=int(h["updated_us"]) / 1e6,
        verdict=verdict_from_json(h.get("verdict") or None),
    )


class RedisCalls(CallRecords):
    """Calls in the Redis of a :class:`~agentstream.stores.redis.RedisStore`."""

    store: RedisStore

    def __init__(self, store: RedisStore, **kwargs: Any) -> None:
        """Keep calls under ``store``'s prefix (``max_call_bytes=`` may be passed)."""
        super().__init__(store, **kwargs)

    async def _create_schema(self) -> None:
        """Nothing to create: Redis keys appear on first write."""

    def _call_key(self, user_id: str, call_id: str) -> str:
        return self.store.key("call", user_id, call_id)

    async def _insert(self, row: CallRow, stamp: int) -> None:
        date_ = row.record["verification_date"]
        due = f"{date_}#{stamp:017d}#{row.user_id}#{row.call_id}"
        fields = {
            "call_id": row.call_id,
            "user_id": row.user_id,
            "run_id": row.run_id or "",
            "record": orjson.dumps(row.record).decode(),
            "status": row.status,
            "created_us": str(stamp),
            "updated_us": str(stamp),
            "verdict": "",
            "due": due,
        }
        keys = [
            self.store.key("calls", "run", row.user_id, row.run_id or ""),
            self._call_key(row.user_id, row.call_id),
            self.store.key("calls", "u", row.user_id),
            self.store.key("calls", "due"),
        ]
        member = f"{stamp:017d}#{row.call_id}"
        flat = [v for pair in fields.items() for v in pair]
        args = ["1" if row.run_id else "0", row.call_id, member, due, *flat]
        verdict = await self.store.script(_INSERT, keys, args)
        if verdict == "run_taken":
            raise RunTaken(f"run {row.run_id} already has a call")
        if verdict == "conflict":
            raise Conflict(f"call {row.call_id} already exists")

    async def _find(self, user_id: str, call_id: str) -> CallRow | None:
        h = await self.store.call(self.store.client.hgetall, self._call_key(user_id, call_id))
        return _row(h) if h else None

    async def _find_by_run(self, user_id: str, run_id: str) -> CallRow | None:
        guard = self.store.key("calls", "run", user_id, run_id)
        call_id = await self.store.call(self.store.client.get, guard)
        return await self._find(user_id, call_id) if call_id else None

    async def _page(self, user_id: str, after: tuple[int, str] | None, count: int) -> Page:
        created_us, call_id = after or (MAX_STAMP_US, "")
        top = f"({min(created_us, MAX_STAMP_US):017d}#{call_id}" if after else "+"
        members: list[str] = await self.store.call(
            self.store.client.zrevrangebylex,
            self.store.key("calls", "u", user_id),
            top,
            "-",
            start=0,
            num=count,
        )
        page: Page = []
        for member in members:
            stamp, call_id = member.split("#", 1)
            found = await self._find(user_id, call_id)
            if found is not None:
                page.append((int(stamp), found))
        return page

    async def _write_verdict(
        self, user_id: str, call_id: str, verdict: Verdict, stamp: int
    ) -> CallRow | None:
        keys = [self._call_key(user_id, call_id), self.store.key("calls", "due")]
        flat = await self.store.script(
            _VERDICT, keys, [verdict.status, self.verdict_text(verdict), str(stamp)]
        )
        if not flat:
            return None
        return _row(dict(zip(flat[::2], flat[1::2], strict=True)))

    async def _due(self, before: date, limit: int) -> list[CallRow]:
        # "$" sorts just after "#", so every member "<date>#..." up to ``before`` is below it.
        members: list[str] = await self.store.call(
            self.store.client.zrangebylex,
            self.store.key("calls", "due"),
            "-",
            f"({before.isoformat()}$",
            start=0,
            num=limit,
        )
        rows = []
        for member in members:
            _, _, user_id, call_id = member.split("#", 3)
            found = await self._find(user_id, call_id)
            if found is not None:
                rows.append(found)
        return rows
