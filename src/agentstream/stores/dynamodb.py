"""The AWS store: DynamoDB tables with TTL and conditional writes, for the framework's nouns.

Tables (``prefix`` + name; :data:`TABLES` is the single description, used by
:meth:`~agentstream.stores.dynamodb_base.DynamoDBBase.create_tables` and meant to match the SAM
template):

- ``connections``: PK ``conn_id``; GSI ``by_user`` (``user_id``, ``connected_at``);
  TTL ``expires_at``.
- ``runs``: PK ``run_id``; TTL ``expires_at``. ``run_events``: PK ``run_id``, SK ``seq``; TTL.
- ``messages``: PK ``thread_id``, SK ``seq``.

Apps add their own tables on the same client (CalledIt's ``calls``: see
``apps/calledit/records/dynamodb.py``). JSON documents (events, meta, messages) are stored as
JSON *strings*, not maps: no float/Decimal round trip, and the same bytes as the SQLite backend.
The client, error translation and item helpers live in :mod:`~agentstream.stores.dynamodb_base`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final, cast

import orjson

from agentstream.stores.dynamodb_base import (
    RETRIES,
    ConditionFailed,
    DynamoDBBase,
    Item,
    Table,
    n,
    num,
    s,
    table_spec,
)
from agentstream.stores.errors import Conflict, NotFound, StoreUnavailable
from agentstream.stores.rows import ConnectionRow, RunRow, RunState
from agentstream.stores.validation import (
    check_events,
    check_id,
    check_message,
    check_meta,
    check_state,
)

logger = logging.getLogger(__name__)

TABLES: Final[Mapping[str, Table]] = {
    "connections": Table(
        "conn_id",
        ttl="expires_at",
        indexes={"by_user": ("user_id", "connected_at")},
        numeric=frozenset({"connected_at"}),
    ),
    "runs": Table("run_id", ttl="expires_at"),
    "run_events": Table("run_id", "seq", ttl="expires_at", numeric=frozenset({"seq"})),
    "messages": Table("thread_id", "seq", numeric=frozenset({"seq"})),
}


def table_specs(prefix: str) -> dict[str, tuple[dict[str, Any], str | None]]:
    """CreateTable arguments and TTL attribute (or None) for each framework table."""
    return {k: (table_spec(f"{prefix}{k}", t), t.ttl) for k, t in TABLES.items()}


def _conn_row(item: Item) -> ConnectionRow:
    return ConnectionRow(
        item["conn_id"]["S"],
        item["user_id"]["S"],
        num(item, "connected_at"),
        num(item, "expires_at"),
        orjson.loads(item["meta"]["S"]),
    )


def _run_row(item: Item) -> RunRow:
    return RunRow(
        item["run_id"]["S"],
        item["owner"]["S"],
        item["app"]["S"],
        cast(RunState, item["state"]["S"]),
        num(item, "created_at"),
        num(item, "updated_at"),
        num(item, "expires_at"),
        orjson.loads(item["meta"]["S"]),
    )


class DynamoDBStore(DynamoDBBase):
    """A :class:`~agentstream.stores.protocols.Store` on DynamoDB (AWS, moto or DynamoDB Local)."""

    TABLES = TABLES

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
        row = ConnectionRow(conn_id, user_id, connected_at, self.expiry(ttl_s), dict(meta or {}))
        item = {"conn_id": s(conn_id), "user_id": s(user_id), "meta": s(meta_text)}
        item |= {"connected_at": n(float(connected_at)), "expires_at": n(int(row.expires_at))}
        await self.put("connections", item)
        return row

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""
        item = self.live(await self.get("connections", conn_id=s(conn_id)))
        return _conn_row(item) if item else None

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""
        key = {"conn_id": s(conn_id)}
        await self.call("delete_item", TableName=self.tables["connections"], Key=key)

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""
        if user_id is None:
            items = await self.scan("connections")
        else:
            values = {":u": s(user_id)}
            items = await self.query(
                "connections", None, "user_id = :u", values, IndexName="by_user"
            )
        rows = [_conn_row(i) for i in items if self.live(i)]
        return sorted(rows, key=lambda r: (r.connected_at, r.conn_id))

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many items went.

        Meant for local use: on AWS the TTL sweeper does this for free.
        """
        cutoff = {":now": n(self.now() if now is None else now)}
        cond = "expires_at <= :now"
        removed = 0
        for table, names in (
            ("connections", ("conn_id",)),
            ("run_events", ("run_id", "seq")),
            ("runs", ("run_id",)),
        ):
            for item in await self.scan(
                table, FilterExpression=cond, ExpressionAttributeValues=cutoff
            ):
                key = {n: item[n] for n in names}
                try:
                    await self.call(
                        "delete_item",
                        TableName=self.tables[table],
                        Key=key,
                        ConditionExpression=cond,
                        ExpressionAttributeValues=cutoff,
                    )
                    removed += 1
                except ConditionFailed:
                    logger.debug("purge | table=%s item refreshed meanwhile, kept", table)
        return removed

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
        """Create a run header; its log expires with it. Conflict if the id exists."""
        row = self.new_run_row(run_id, owner, app, state, ttl_s, meta)
        now, meta_text = row.created_at, check_meta(meta, self.limits.max_meta_bytes)
        item = {"run_id": s(run_id), "owner": s(owner), "app": s(app), "state": s(state)}
        item |= {"created_at": n(now), "updated_at": n(now), "meta": s(meta_text)}
        item["expires_at"] = n(int(row.expires_at))
        try:
            await self.put("runs", item, "attribute_not_exists(run_id)")
        except ConditionFailed as exc:
            raise Conflict(f"run {run_id} already exists") from exc
        return row

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""
        item = self.live(await self.get("runs", run_id=s(run_id)))
        return _run_row(item) if item else None

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""
        expr, cond = (
            "SET #st = :s, updated_at = :now",
            "attribute_exists(run_id) AND expires_at > :now",
        )
        key = {"run_id": s(run_id)}
        try:
            item = await self.update(
                "runs", key, expr, cond, "state", s=s(check_state(state)), now=n(self.now())
            )
        except ConditionFailed as exc:
            raise NotFound(f"run {run_id} not found") from exc
        return _run_row(item)

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events, one conditional put each (a seq is written once)."""
        batch = check_events(events, self.limits.max_events_per_run, self.limits.max_event_bytes)
        run = self.live(await self.get("runs", run_id=s(run_id)))
        if run is None:
            raise NotFound(f"run {run_id} not found")
        for seq, text in batch:
            item = {"run_id": s(run_id), "seq": n(seq), "data": s(text)}
            item["expires_at"] = run["expires_at"]
            try:
                await self.put("run_events", item, "attribute_not_exists(seq)")
            except ConditionFailed as exc:
                stored = await self.get("run_events", run_id=s(run_id), seq=n(seq))
                if stored is None or stored["data"]["S"] != text:
                    message = f"run {run_id} seq {seq} is already stored with different data"
                    raise Conflict(message) from exc

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""
        if limit == 0 or await self.get_run(run_id) is None:
            return []
        values = {":r": s(run_id), ":a": n(after_seq)}
        cond = "run_id = :r AND seq > :a"
        items = await self.query("run_events", limit, cond, values, ConsistentRead=True)
        return [(int(num(i, "seq")), i["data"]["S"]) for i in items if self.live(i)]

    # --- chat messages ----------------------------------------------------------------------

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message; a conditional put on the next seq, retried when raced."""
        text = check_message(message, self.limits.max_message_bytes)
        thread = s(check_id("thread_id", thread_id))
        for _ in range(RETRIES * 4):
            last = await self._read_thread(thread, 1)
            seq = int(num(last[0], "seq")) + 1 if last else 1
            item = {"thread_id": thread, "seq": n(seq), "data": s(text)}
            try:
                await self.put(
                    "messages", item | {"created_at": n(self.now())}, "attribute_not_exists(seq)"
                )
                return seq
            except ConditionFailed:
                logger.debug("append_message | thread=%s seq=%d raced, retrying", thread_id, seq)
        raise StoreUnavailable(f"append_message thread={thread_id}: too much contention")

    async def _read_thread(self, thread: dict[str, str], last: int | None) -> list[Item]:
        """A thread's items oldest first; with ``last``, only the newest ``last``."""
        extra = {"ConsistentRead": True, "ScanIndexForward": last is None}
        items = await self.query("messages", last, "thread_id = :t", {":t": thread}, **extra)
        return items if last is None else items[::-1]

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""
        if limit == 0:
            return []
        items = await self._read_thread(s(thread_id), limit)
        return [orjson.loads(i["data"]["S"]) for i in items]
