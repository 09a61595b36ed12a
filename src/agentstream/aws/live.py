"""Runs across Lambda invocations: who streams a run and whether it was cancelled, in DynamoDB.

On AWS the invocation producing a run is not the one that receives a ``resume`` or ``cancel``.
One item per live run (table ``live_runs``, TTL ``expires_at``) holds its owner, its state, a
cancel flag and its subscribers (connection id → the seq it has, its dialect, and whether it is
*held*). The producing invocation reads the item on every flush and posts each subscriber what
it has not had yet; the other invocations only write it:

- ``resume`` adds a *held* subscriber (only while the run is running and only for its owner),
  answers the client, then releases it, so replayed frames never overtake the answer;
- ``cancel`` sets the flag (owner and running only); the producer sees it within one flush;
- the producer ends by marking the item finished and reading the subscribers in one update, so a
  resume either gets in before the end (and the producer serves it) or sees the end (and replays
  the recorded log itself): never both, never neither.

The event log itself is the store's ``run_events`` (written by the run recorder).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from agentstream.stores.dynamodb_base import ConditionFailed, DynamoDBBase, Item, Table, n, s

TABLE: Final = "live_runs"
TTL_ATTRIBUTE: Final = "expires_at"
TABLES: Final[Mapping[str, Table]] = {TABLE: Table("run_id", ttl=TTL_ATTRIBUTE)}
RUNNING: Final = "running"
FINISHED: Final = "finished"


@dataclass(frozen=True)
class Subscription:
    """One connection streaming a run from after ``after_seq``, in ``dialect``."""

    connection_id: str
    after_seq: int = 0
    dialect: str = "agentstream"
    held: bool = False


@dataclass(frozen=True)
class LiveRow:
    """A live run as the table holds it."""

    run_id: str
    owner: str
    state: str
    cancel: bool = False
    subs: dict[str, Subscription] = field(default_factory=dict)


def _sub_value(sub: Subscription) -> dict[str, Any]:
    fields = {"after": n(sub.after_seq), "dialect": s(sub.dialect), "held": {"BOOL": sub.held}}
    return {"M": fields}


def _row(item: Item) -> LiveRow:
    subs = {}
    for conn, value in item.get("subs", {}).get("M", {}).items():
        fields = value["M"]
        subs[conn] = Subscription(
            conn, int(fields["after"]["N"]), fields["dialect"]["S"], fields["held"]["BOOL"]
        )
    return LiveRow(
        item["run_id"]["S"],
        item["owner"]["S"],
        item["state"]["S"],
        bool(item.get("cancel", {}).get("BOOL", False)),
        subs,
    )


class LiveRuns:
    """The ``live_runs`` table on a DynamoDB store's client."""

    def __init__(self, store: DynamoDBBase, *, ttl_s: float = 24 * 3600) -> None:
        """Use ``store``'s client and prefix; items expire ``ttl_s`` after they are written."""
        self.store = store
        self.ttl_s = ttl_s

    async def open(self) -> None:
        """Create (or check) the table, as the store does its own."""
        await self.store.ensure_tables(TABLES)

    async def _update(self, run_id: str, expr: str, cond: str, **values: Any) -> Item:
        # DynamoDB refuses names and values an expression does not use, and empty maps.
        names = {"#st": "state", **values.pop("names", {})}
        used = expr + " " + cond
        extra: dict[str, Any] = {}
        if names := {k: v for k, v in names.items() if k in used}:
            extra["ExpressionAttributeNames"] = names
        if values:
            extra["ExpressionAttributeValues"] = {f":{k}": v for k, v in values.items()}
        found = await self.store.call(
            "update_item",
            TableName=self.store.tables[TABLE],
            Key={"run_id": s(run_id)},
            UpdateExpression=expr,
            ConditionExpression=cond,
            ReturnValues="ALL_NEW",
            **extra,
        )
        return dict(found["Attributes"])

    async def create(self, run_id: str, owner: str, first: Subscription) -> None:
        """Record a new running run with its first subscriber."""
        item: Item = {"run_id": s(run_id), "owner": s(owner), "state": s(RUNNING)}
        item |= {"cancel": {"BOOL": False}, "subs": {"M": {first.connection_id: _sub_value(first)}}}
        item[TTL_ATTRIBUTE] = n(int(time.time() + self.ttl_s))
        await self.store.put(TABLE, item, "attribute_not_exists(run_id)")

    async def read(self, run_id: str) -> LiveRow | None:
        """The run's item (a consistent read), or None when unknown or expired."""
        item = await self.store.get(TABLE, run_id=s(run_id))
        if item is None or float(item[TTL_ATTRIBUTE]["N"]) <= time.time():
            return None
        return _row(item)

    async def subscribe(self, run_id: str, owner: str, sub: Subscription) -> bool:
        """Add ``sub`` while the run is running and ``owner`` owns it; False otherwise."""
        try:
            await self._update(
                run_id,
                "SET subs.#c = :sub",
                "#st = :running AND #owner = :owner",
                sub=_sub_value(sub),
                running=s(RUNNING),
                owner=s(owner),
                names={"#c": sub.connection_id, "#owner": "owner"},
            )
        except ConditionFailed:
            return False
        return True

    async def release(self, run_id: str, connection_id: str) -> bool:
        """Let the producer serve a held subscriber; False when the run ended meanwhile."""
        try:
            await self._update(
                run_id,
                "SET subs.#c.held = :no",
                "#st = :running AND attribute_exists(subs.#c)",
                no={"BOOL": False},
                running=s(RUNNING),
                names={"#c": connection_id},
            )
        except ConditionFailed:
            return False
        return True

    async def unsubscribe(self, run_id: str, connection_id: str) -> None:
        """Forget a subscriber (its client left)."""
        await self._update(
            run_id, "REMOVE subs.#c", "attribute_exists(run_id)", names={"#c": connection_id}
        )

    async def request_cancel(self, run_id: str, owner: str) -> bool:
        """Raise the cancel flag of ``owner``'s running run; False when it is not one."""
        try:
            await self._update(
                run_id,
                "SET cancel = :yes",
                "#st = :running AND #owner = :owner AND cancel = :no",
                yes={"BOOL": True},
                no={"BOOL": False},
                running=s(RUNNING),
                owner=s(owner),
                names={"#owner": "owner"},
            )
        except ConditionFailed:
            return False
        return True

    async def finish(self, run_id: str) -> LiveRow:
        """Mark the run finished and return its subscribers at that instant (one update)."""
        return _row(
            await self._update(
                run_id, "SET #st = :done", "attribute_exists(run_id)", done=s(FINISHED)
            )
        )
