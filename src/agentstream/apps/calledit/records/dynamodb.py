"""CalledIt's calls in a DynamoDB table beside the framework's, on the same client.

Table ``<prefix>calls``: PK ``user_id``, SK ``call_id``; GSI ``by_user_created`` (``user_id``,
``created_us``) lists newest first; sparse GSI ``by_due`` (``due_pk`` = "pending" while pending,
``due_sk`` = date#created#id) feeds ``verify --due``. A guard item (``call_id`` =
``run#<run_id>``) makes "one call per run" atomic via TransactWriteItems; guards carry no index
attributes, so no listing sees them. The name and shape are those the framework store used
before calls moved here, so existing tables keep working.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, cast

import orjson

from agentstream.apps.calledit.records.base import CallRecords, Contended, Page, RunTaken
from agentstream.apps.calledit.records.rows import CallRow, CallStatus, Verdict, verdict_from_json
from agentstream.stores.dynamodb_base import (
    ConditionFailed,
    DynamoDBBase,
    Item,
    Table,
    TransactionCancelled,
    n,
    num,
    s,
)
from agentstream.stores.errors import Conflict

logger = logging.getLogger(__name__)

TABLES: Final[Mapping[str, Table]] = {
    "calls": Table(
        "user_id",
        "call_id",
        indexes={"by_user_created": ("user_id", "created_us"), "by_due": ("due_pk", "due_sk")},
        numeric=frozenset({"created_us"}),
    )
}


def _row(item: Item) -> CallRow:
    return CallRow(
        call_id=item["call_id"]["S"],
        user_id=item["user_id"]["S"],
        run_id=item["run_id"]["S"] if "run_id" in item else None,
        record=orjson.loads(item["record"]["S"]),
        status=cast(CallStatus, item["status"]["S"]),
        created_at=num(item, "created_us") / 1e6,
        updated_at=num(item, "updated_us") / 1e6,
        verdict=verdict_from_json(item["verdict"]["S"] if "verdict" in item else None),
    )


def _item(row: CallRow, stamp: int) -> Item:
    date_ = row.record["verification_date"]
    item: Item = {
        "user_id": s(row.user_id),
        "call_id": s(row.call_id),
        "record": s(orjson.dumps(row.record).decode()),
        "status": s(row.status),
        "verification_date": s(date_),
        "created_us": n(stamp),
        "updated_us": n(stamp),
        "due_pk": s("pending"),
        "due_sk": s(f"{date_}#{stamp:017d}#{row.call_id}"),
    }
    if row.run_id is not None:
        item["run_id"] = s(row.run_id)
    return item


def _guard(user_id: str, run_id: str) -> dict[str, dict[str, str]]:
    return {"user_id": s(user_id), "call_id": s(f"run#{run_id}")}


class DynamoDBCalls(CallRecords):
    """Calls in a DynamoDB table next to a :class:`~agentstream.stores.dynamodb.DynamoDBStore`."""

    store: DynamoDBBase

    def __init__(self, store: DynamoDBBase, **kwargs: Any) -> None:
        """Keep calls under ``store``'s prefix (``max_call_bytes=`` may be passed)."""
        super().__init__(store, **kwargs)

    async def _create_schema(self) -> None:
        await self.store.ensure_tables(TABLES)

    async def _insert(self, row: CallRow, stamp: int) -> None:
        item, new = _item(row, stamp), "attribute_not_exists(call_id)"
        if row.run_id is None:
            try:
                await self.store.put("calls", item, new)
            except ConditionFailed as exc:
                raise Conflict(f"call {row.call_id} already exists") from exc
            return
        guard = _guard(row.user_id, row.run_id) | {"target": item["call_id"]}
        table = {"TableName": self.store.tables["calls"], "ConditionExpression": new}
        puts = [{"Put": {"Item": guard, **table}}, {"Put": {"Item": item, **table}}]
        try:
            await self.store.call("transact_write_items", TransactItems=puts)
        except TransactionCancelled as exc:
            await self._why_cancelled(row, exc)

    async def _why_cancelled(self, row: CallRow, exc: TransactionCancelled) -> None:
        """Say why the guard-and-call transaction failed, from what is stored now.

        Read back rather than trusting the per-item reason codes, which emulators fill unevenly.
        """
        logger.debug("save_call | run=%s cancelled reasons=%s", row.run_id, exc.codes)
        if row.run_id and await self.store.get("calls", **_guard(row.user_id, row.run_id)):
            raise RunTaken(f"run {row.run_id} already has a call") from exc
        if await self.store.get("calls", user_id=s(row.user_id), call_id=s(row.call_id)):
            raise Conflict(f"call {row.call_id} already exists") from exc
        raise Contended(f"save_call run={row.run_id}: {exc}") from exc

    async def _find(self, user_id: str, call_id: str) -> CallRow | None:
        item = await self.store.get("calls", user_id=s(user_id), call_id=s(call_id))
        return _row(item) if item else None

    async def _find_by_run(self, user_id: str, run_id: str) -> CallRow | None:
        guard = await self.store.get("calls", **_guard(user_id, run_id))
        return await self._find(user_id, guard["target"]["S"]) if guard else None

    async def _page(self, user_id: str, after: tuple[int, str] | None, count: int) -> Page:
        """A page from the GSI, which is eventually consistent: a new call may lag a moment."""
        extra: dict[str, Any] = {"IndexName": "by_user_created", "ScanIndexForward": False}
        if after is not None:
            created_us, call_id = after
            start = {"user_id": s(user_id), "call_id": s(call_id), "created_us": n(created_us)}
            extra["ExclusiveStartKey"] = start
        values = {":u": s(user_id)}
        items = await self.store.query("calls", count, "user_id = :u", values, **extra)
        return [(int(num(i, "created_us")), _row(i)) for i in items]

    async def _write_verdict(
        self, user_id: str, call_id: str, verdict: Verdict, stamp: int
    ) -> CallRow | None:
        key = {"user_id": s(user_id), "call_id": s(call_id)}
        expr = "SET #st = :s, verdict = :v, updated_us = :u REMOVE due_pk, due_sk"
        text = s(self.verdict_text(verdict))
        try:  # attribute_exists(created_us): a real call, not a guard item
            item = await self.store.update(
                "calls",
                key,
                expr,
                "attribute_exists(created_us)",
                "status",
                s=s(verdict.status),
                v=text,
                u=n(stamp),
            )
        except ConditionFailed:
            return None
        return _row(item)

    async def _due(self, before: date, limit: int) -> list[CallRow]:
        # "$" sorts just after "#", so every key "<date>#..." up to ``before`` is below the bound.
        values = {":p": s("pending"), ":hi": s(f"{before.isoformat()}$")}
        cond = "due_pk = :p AND due_sk < :hi"
        items = await self.store.query("calls", limit, cond, values, IndexName="by_due")
        return [_row(i) for i in items]
