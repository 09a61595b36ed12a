"""The AWS store: DynamoDB tables with TTL, conditional writes and a GSI per listing.

Tables (``prefix`` + name; :func:`table_specs` is the single description, used by
:meth:`DynamoDBStore.create_tables` and meant to match ``deploy/template.yaml``):

- ``connections``: PK ``conn_id``; GSI ``by_user`` (``user_id``, ``connected_at``);
  TTL ``expires_at``.
- ``calls``: PK ``user_id``, SK ``call_id``; GSI ``by_user_created`` (``user_id``,
  ``created_us``) lists newest first; sparse GSI ``by_due`` (``due_pk`` = "pending" while
  pending, ``due_sk`` = date#created#id) feeds ``verify --due``. A guard item
  (``call_id`` = ``run#<run_id>``) makes "one call per run" atomic via TransactWriteItems; guards
  carry no index attributes, so no listing sees them.
- ``runs``: PK ``run_id``; TTL ``expires_at``. ``run_events``: PK ``run_id``, SK ``seq``; TTL.
- ``messages``: PK ``thread_id``, SK ``seq``.

JSON documents (records, verdicts, meta, events) are stored as JSON *strings*, not maps: no
float/Decimal round trip, and the same bytes as the SQLite backend. boto3 is imported lazily
(``import agentstream.stores`` stays light) and its thread-safe low-level client runs in worker
threads; short timeouts and few retries make a dead endpoint fail fast with StoreUnavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Final, TypeVar, cast

import orjson

from agentstream.stores.base import (
    CALL_ID_RE,
    RUN_STATES,
    BaseStore,
    CallRow,
    CallStatus,
    Conflict,
    ConnectionRow,
    InvalidRecord,
    Limits,
    NotFound,
    RunRow,
    RunState,
    StoreError,
    StoreUnavailable,
    check_call_id,
    check_events,
    check_id,
    check_meta,
    decode_cursor,
    dumps,
    encode_cursor,
    validate_call_record,
    validate_verdict,
    verdict_from_json,
)

logger = logging.getLogger(__name__)

Item = dict[str, dict[str, Any]]
_UNAVAILABLE_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
_RETRIES: Final = 8
_POOL: Final = 32
_STATUS_ATTR: Final = {"runs": "state", "calls": "status"}  # both reserved words in DynamoDB
T = TypeVar("T")


class _ConditionFailed(Conflict):
    """A ConditionExpression did not hold (translated per call site)."""


class _TransactionCancelled(Conflict):
    """A TransactWriteItems was cancelled; ``codes`` holds one reason per item."""

    def __init__(self, message: str, codes: list[str]) -> None:
        super().__init__(message)
        self.codes = codes


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _num(item: Item, name: str) -> float:
    return float(item[name]["N"])


# Short name: (partition key, sort key, TTL attribute, {index name: (partition key, sort key)}).
_TABLES: Final[dict[str, tuple[str, str | None, str | None, dict[str, tuple[str, str]]]]] = {
    "connections": ("conn_id", None, "expires_at", {"by_user": ("user_id", "connected_at")}),
    "calls": (
        "user_id",
        "call_id",
        None,
        {"by_user_created": ("user_id", "created_us"), "by_due": ("due_pk", "due_sk")},
    ),
    "runs": ("run_id", None, "expires_at", {}),
    "run_events": ("run_id", "seq", "expires_at", {}),
    "messages": ("thread_id", "seq", None, {}),
}
_NUMERIC: Final = frozenset({"seq", "created_us", "connected_at"})


def _schema(pk: str, sk: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": pk, "KeyType": "HASH"}]
    return keys + ([{"AttributeName": sk, "KeyType": "RANGE"}] if sk else [])


def table_specs(prefix: str) -> dict[str, tuple[dict[str, Any], str | None]]:
    """CreateTable arguments and TTL attribute (or None) for each table, by short name."""
    specs: dict[str, tuple[dict[str, Any], str | None]] = {}
    for short, (pk, sk, ttl, indexes) in _TABLES.items():
        names = {pk, *([sk] if sk else []), *(n for key in indexes.values() for n in key)}
        spec: dict[str, Any] = {
            "TableName": f"{prefix}{short}",
            "KeySchema": _schema(pk, sk),
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": "N" if n in _NUMERIC else "S"}
                for n in sorted(names)
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if indexes:
            spec["GlobalSecondaryIndexes"] = [
                {"IndexName": n, "KeySchema": _schema(*k), "Projection": {"ProjectionType": "ALL"}}
                for n, k in indexes.items()
            ]
        specs[short] = (spec, ttl)
    return specs


def _translate(exc: Exception, op: str) -> StoreError:
    """Map a botocore error to the store's error tree."""
    from botocore import exceptions as errors  # type: ignore[import-untyped]

    if isinstance(exc, errors.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "ConditionalCheckFailedException":
            return _ConditionFailed(f"{op}: condition failed")
        if code == "TransactionCanceledException":
            reasons = exc.response.get("CancellationReasons", [])
            return _TransactionCancelled(message, [r.get("Code", "None") for r in reasons])
        if code in _UNAVAILABLE_CODES:
            return StoreUnavailable(f"dynamodb {op}: {code}: {message}")
        return StoreError(f"dynamodb {op}: {code}: {message}")
    if isinstance(exc, errors.ConnectionError | errors.HTTPClientError):
        return StoreUnavailable(f"dynamodb {op}: endpoint unreachable: {exc}")
    if isinstance(exc, errors.ParamValidationError):
        return StoreError(f"dynamodb {op}: {exc}")
    return StoreError(f"dynamodb {op}: {type(exc).__name__}: {exc}")


def _conn_row(item: Item) -> ConnectionRow:
    return ConnectionRow(
        item["conn_id"]["S"],
        item["user_id"]["S"],
        _num(item, "connected_at"),
        _num(item, "expires_at"),
        orjson.loads(item["meta"]["S"]),
    )


def _run_row(item: Item) -> RunRow:
    return RunRow(
        item["run_id"]["S"],
        item["owner"]["S"],
        item["app"]["S"],
        cast(RunState, item["state"]["S"]),
        _num(item, "created_at"),
        _num(item, "updated_at"),
        _num(item, "expires_at"),
        orjson.loads(item["meta"]["S"]),
    )


def _call_row(item: Item) -> CallRow:
    return CallRow(
        call_id=item["call_id"]["S"],
        user_id=item["user_id"]["S"],
        run_id=item["run_id"]["S"] if "run_id" in item else None,
        record=orjson.loads(item["record"]["S"]),
        status=cast(CallStatus, item["status"]["S"]),
        created_at=_num(item, "created_us") / 1e6,
        updated_at=_num(item, "updated_us") / 1e6,
        verdict=verdict_from_json(item["verdict"]["S"] if "verdict" in item else None),
    )


def _call_item(row: CallRow, stamp: int) -> Item:
    item: Item = {
        "user_id": _s(row.user_id),
        "call_id": _s(row.call_id),
        "record": _s(orjson.dumps(row.record).decode()),
        "status": _s(row.status),
        "verification_date": _s(row.record["verification_date"]),
        "created_us": _n(stamp),
        "updated_us": _n(stamp),
        "due_pk": _s("pending"),
        "due_sk": _s(f"{row.record['verification_date']}#{stamp:017d}#{row.call_id}"),
    }
    if row.run_id is not None:
        item["run_id"] = _s(row.run_id)
    return item


class DynamoDBStore(BaseStore):
    """A :class:`~agentstream.stores.base.Store` on DynamoDB (AWS, moto or DynamoDB Local)."""

    def __init__(
        self,
        *,
        prefix: str = "agentstream_",
        endpoint: str | None = None,
        region: str | None = None,
        create: bool = False,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        max_attempts: int = 2,
        limits: Limits | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Configure the store; nothing is contacted until :meth:`open`.

        Args:
            prefix: Prepended to every table name (one deployment or test per prefix).
            endpoint: DynamoDB endpoint URL; None uses boto3's resolution (including
                ``AWS_ENDPOINT_URL_DYNAMODB``).
            region: AWS region; None uses the environment, else ``us-east-1``.
            create: Create missing tables on open (local, dev and tests).
            connect_timeout: Seconds to wait for a TCP connection.
            read_timeout: Seconds to wait for a response.
            max_attempts: Total tries per request, including the first.
            limits: Bounds on records and logs.
            clock: Epoch-seconds clock; tests pass a fake one to move time.
        """
        super().__init__(limits=limits, clock=clock)
        self.prefix, self.endpoint, self.region, self.create = prefix, endpoint, region, create
        self._timeouts = (connect_timeout, read_timeout, max_attempts)
        self.tables = {short: f"{prefix}{short}" for short in _TABLES}
        self._client: Any = None
        self._executor: ThreadPoolExecutor | None = None

    # --- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Build the client, then create the tables (``create``) or check they exist."""
        if self._client is not None:
            return
        # Own threads, sized like the HTTP pool: store calls never queue behind other work
        # (model generation) in the loop's default executor, nor starve it.
        self._executor = ThreadPoolExecutor(_POOL, thread_name_prefix="agentstream-dynamodb")
        self._client = await self._in_thread(self._make_client)
        try:
            if self.create:
                await self.create_tables()
            else:
                for name in self.tables.values():
                    await self._describe(name)
        except BaseException:
            await self.close()
            raise
        logger.info("dynamodb store | opened endpoint=%s prefix=%s", self.endpoint, self.prefix)

    def _make_client(self) -> Any:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        connect, read, attempts = self._timeouts
        retries = {"max_attempts": attempts, "mode": "standard"}
        config = Config(
            connect_timeout=connect, read_timeout=read, retries=retries, max_pool_connections=_POOL
        )
        env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        region = self.region or env or "us-east-1"
        session = boto3.session.Session()
        return session.client(
            "dynamodb", endpoint_url=self.endpoint, region_name=region, config=config
        )

    async def close(self) -> None:
        """Close the HTTP connection pool; idempotent."""
        client, self._client = self._client, None
        if client is not None:
            await self._in_thread(client.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _in_thread(self, fn: Callable[..., T], **kwargs: Any) -> T:
        if self._executor is None:
            raise StoreError("store is not open")
        call = functools.partial(fn, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """Run one DynamoDB API call in a worker thread, translating its errors."""
        if self._client is None:
            raise StoreError("store is not open")
        try:
            result: dict[str, Any] = await self._in_thread(getattr(self._client, op), **kwargs)
        except Exception as exc:  # translated at the boundary, never swallowed
            raise _translate(exc, op) from exc
        return result

    async def _describe(self, table: str) -> dict[str, Any]:
        try:
            return await self._call("describe_table", TableName=table)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            hint = "create it with create_tables() or ?create=1"
            raise StoreError(f"table {table} is missing or unreadable ({exc}); {hint}") from exc

    async def create_tables(self) -> None:
        """Create every table, wait until active and enable TTL; idempotent."""
        for spec, ttl_attr in table_specs(self.prefix).values():
            try:
                await self._call("create_table", **spec)
                logger.info("dynamodb | created table=%s", spec["TableName"])
            except StoreError as exc:
                if "ResourceInUseException" not in str(exc):
                    raise
            await self._wait_active(spec["TableName"])
            if ttl_attr:
                await self._enable_ttl(spec["TableName"], ttl_attr)

    async def _wait_active(self, table: str, timeout_s: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (await self._describe(table))["Table"]["TableStatus"] != "ACTIVE":
            if asyncio.get_running_loop().time() > deadline:
                raise StoreUnavailable(f"table {table} not active after {timeout_s}s")
            await asyncio.sleep(0.5)

    async def _enable_ttl(self, table: str, attr: str) -> None:
        found = await self._call("describe_time_to_live", TableName=table)
        if found["TimeToLiveDescription"]["TimeToLiveStatus"] in ("ENABLED", "ENABLING"):
            return
        spec = {"Enabled": True, "AttributeName": attr}
        await self._call("update_time_to_live", TableName=table, TimeToLiveSpecification=spec)

    async def _get(self, table: str, **key: dict[str, str]) -> Item | None:
        name = self.tables[table]
        found = await self._call("get_item", TableName=name, Key=key, ConsistentRead=True)
        return cast(Item | None, found.get("Item"))

    async def _put(self, table: str, item: Item, condition: str | None = None) -> None:
        extra = {"ConditionExpression": condition} if condition else {}
        await self._call("put_item", TableName=self.tables[table], Item=item, **extra)

    async def _update(self, table: str, key: Item, expr: str, cond: str, **values: Any) -> Item:
        """UpdateItem with ``#st`` naming the table's reserved word, returning the new item."""
        name, names = self.tables[table], {"#st": _STATUS_ATTR[table]}
        found = await self._call(
            "update_item",
            TableName=name,
            Key=key,
            UpdateExpression=expr,
            ConditionExpression=cond,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
            ReturnValues="ALL_NEW",
        )
        return cast(Item, found["Attributes"])

    async def _query(
        self, table: str, want: int | None, cond: str, values: Item, **extra: Any
    ) -> list[Item]:
        """Query page after page until ``want`` items (None: all) are in hand."""
        kwargs = {"TableName": self.tables[table], "KeyConditionExpression": cond, **extra}
        kwargs["ExpressionAttributeValues"] = values
        items: list[Item] = []
        while True:
            if want is not None:
                kwargs["Limit"] = want - len(items)
            page = await self._call("query", **kwargs)
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start or (want is not None and len(items) >= want):
                return items
            kwargs["ExclusiveStartKey"] = start

    async def _scan(self, table: str, **kwargs: Any) -> list[Item]:
        items: list[Item] = []
        while True:
            page = await self._call("scan", TableName=self.tables[table], **kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _live(self, item: Item | None) -> Item | None:
        """Filter an expired item in code: DynamoDB deletes TTL'd items lazily (up to days)."""
        if item is None or _num(item, "expires_at") <= self.now():
            return None
        return item

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
        item = {"conn_id": _s(conn_id), "user_id": _s(user_id), "meta": _s(meta_text)}
        item |= {"connected_at": _n(float(connected_at)), "expires_at": _n(int(row.expires_at))}
        await self._put("connections", item)
        return row

    async def get_connection(self, conn_id: str) -> ConnectionRow | None:
        """The connection, or None when unknown or expired."""
        item = self._live(await self._get("connections", conn_id=_s(conn_id)))
        return _conn_row(item) if item else None

    async def delete_connection(self, conn_id: str) -> None:
        """Forget a connection; a missing one is not an error."""
        key = {"conn_id": _s(conn_id)}
        await self._call("delete_item", TableName=self.tables["connections"], Key=key)

    async def list_connections(self, user_id: str | None = None) -> list[ConnectionRow]:
        """Unexpired connections, of one user or of everyone."""
        if user_id is None:
            items = await self._scan("connections")
        else:
            values = {":u": _s(user_id)}
            items = await self._query(
                "connections", None, "user_id = :u", values, IndexName="by_user"
            )
        rows = [_conn_row(i) for i in items if self._live(i)]
        return sorted(rows, key=lambda r: (r.connected_at, r.conn_id))

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete expired connections, runs and run events; returns how many items went.

        Meant for local use: on AWS the TTL sweeper does this for free.
        """
        cutoff = {":now": _n(self.now() if now is None else now)}
        cond = "expires_at <= :now"
        removed = 0
        for table, names in (
            ("connections", ("conn_id",)),
            ("run_events", ("run_id", "seq")),
            ("runs", ("run_id",)),
        ):
            for item in await self._scan(
                table, FilterExpression=cond, ExpressionAttributeValues=cutoff
            ):
                key = {n: item[n] for n in names}
                try:
                    await self._call(
                        "delete_item",
                        TableName=self.tables[table],
                        Key=key,
                        ConditionExpression=cond,
                        ExpressionAttributeValues=cutoff,
                    )
                    removed += 1
                except _ConditionFailed:
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
        for name, value in (("run_id", run_id), ("owner", owner), ("app", app)):
            check_id(name, value)
        now, meta_text = self.now(), check_meta(meta, self.limits.max_meta_bytes)
        row = RunRow(
            run_id, owner, app, _state(state), now, now, self.expiry(ttl_s), dict(meta or {})
        )
        item = {"run_id": _s(run_id), "owner": _s(owner), "app": _s(app), "state": _s(state)}
        item |= {"created_at": _n(now), "updated_at": _n(now), "meta": _s(meta_text)}
        item["expires_at"] = _n(int(row.expires_at))
        try:
            await self._put("runs", item, "attribute_not_exists(run_id)")
        except _ConditionFailed as exc:
            raise Conflict(f"run {run_id} already exists") from exc
        return row

    async def get_run(self, run_id: str) -> RunRow | None:
        """The run, or None when unknown or expired."""
        item = self._live(await self._get("runs", run_id=_s(run_id)))
        return _run_row(item) if item else None

    async def set_run_state(self, run_id: str, state: RunState) -> RunRow:
        """Change a run's state. NotFound when unknown or expired."""
        expr, cond = (
            "SET #st = :s, updated_at = :now",
            "attribute_exists(run_id) AND expires_at > :now",
        )
        key = {"run_id": _s(run_id)}
        try:
            item = await self._update(
                "runs", key, expr, cond, s=_s(_state(state)), now=_n(self.now())
            )
        except _ConditionFailed as exc:
            raise NotFound(f"run {run_id} not found") from exc
        return _run_row(item)

    async def append_events(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store ``(seq, json_text)`` events, one conditional put each (a seq is written once)."""
        batch = check_events(events, self.limits.max_events_per_run, self.limits.max_event_bytes)
        run = self._live(await self._get("runs", run_id=_s(run_id)))
        if run is None:
            raise NotFound(f"run {run_id} not found")
        for seq, text in batch:
            item = {"run_id": _s(run_id), "seq": _n(seq), "data": _s(text)}
            item["expires_at"] = run["expires_at"]
            try:
                await self._put("run_events", item, "attribute_not_exists(seq)")
            except _ConditionFailed as exc:
                stored = await self._get("run_events", run_id=_s(run_id), seq=_n(seq))
                if stored is None or stored["data"]["S"] != text:
                    message = f"run {run_id} seq {seq} is already stored with different data"
                    raise Conflict(message) from exc

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """Events with seq > ``after_seq`` in order; empty for an unknown or expired run."""
        if limit == 0 or await self.get_run(run_id) is None:
            return []
        values = {":r": _s(run_id), ":a": _n(after_seq)}
        cond = "run_id = :r AND seq > :a"
        items = await self._query("run_events", limit, cond, values, ConsistentRead=True)
        return [(int(_num(i, "seq")), i["data"]["S"]) for i in items if self._live(i)]

    # --- calls ------------------------------------------------------------------------------

    async def save_call(
        self,
        user_id: str,
        record: Mapping[str, Any],
        *,
        run_id: str | None,
        call_id: str | None = None,
    ) -> CallRow:
        """Validate and store a call; the same ``(user_id, run_id)`` again returns the first."""
        clean = validate_call_record(record, self.limits.max_call_bytes)
        stamp = self.stamp_us()
        row = CallRow(
            call_id=check_call_id(call_id) if call_id is not None else uuid.uuid4().hex,
            user_id=check_id("user_id", user_id),
            run_id=check_id("run_id", run_id) if run_id is not None else None,
            record=clean,
            status="pending",
            created_at=stamp / 1e6,
            updated_at=stamp / 1e6,
        )
        item = _call_item(row, stamp)
        if row.run_id is None:
            try:
                await self._put("calls", item, "attribute_not_exists(call_id)")
            except _ConditionFailed as exc:
                raise Conflict(f"call {row.call_id} already exists") from exc
            return row
        return await self._save_once(row, item, row.run_id)

    async def _save_once(self, row: CallRow, item: Item, run_id: str) -> CallRow:
        """Write the guard and the call in one transaction; a lost race returns the winner."""
        guard = {"user_id": item["user_id"], "call_id": _s(f"run#{run_id}")}
        guard["target"] = item["call_id"]
        new = {
            "TableName": self.tables["calls"],
            "ConditionExpression": "attribute_not_exists(call_id)",
        }
        puts = [{"Put": {"Item": guard, **new}}, {"Put": {"Item": item, **new}}]
        for attempt in range(_RETRIES):
            try:
                await self._call("transact_write_items", TransactItems=puts)
                return row
            except _TransactionCancelled as exc:
                logger.debug("save_call | run=%s cancelled reasons=%s", run_id, exc.codes)
            existing = await self._call_for_run(row.user_id, run_id)
            if existing is not None:
                return existing
            if await self._get("calls", user_id=item["user_id"], call_id=item["call_id"]):
                raise Conflict(f"call {row.call_id} already exists")
            await asyncio.sleep(0.05 * 2**attempt)  # TransactionConflict: another writer; retry
        raise StoreUnavailable(f"save_call run={run_id}: still contended after {_RETRIES} tries")

    async def _call_for_run(self, user_id: str, run_id: str) -> CallRow | None:
        guard = await self._get("calls", user_id=_s(user_id), call_id=_s(f"run#{run_id}"))
        return await self.get_call(user_id, guard["target"]["S"]) if guard else None

    async def get_call(self, user_id: str, call_id: str) -> CallRow:
        """One of the user's calls. NotFound when unknown or someone else's."""
        if not CALL_ID_RE.fullmatch(call_id):  # a guard's key is not a call id
            raise NotFound(f"call {call_id} not found")
        item = await self._get("calls", user_id=_s(user_id), call_id=_s(call_id))
        if item is None:
            raise NotFound(f"call {call_id} not found")
        return _call_row(item)

    async def list_calls(
        self, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[CallRow], str | None]:
        """The user's calls newest first, and a cursor for the next page (None at the end).

        The GSI is eventually consistent: a call saved a moment ago may be missing for a moment.
        """
        limit = self.page_limit(limit)
        extra: dict[str, Any] = {"IndexName": "by_user_created", "ScanIndexForward": False}
        if cursor:
            created_us, after = decode_cursor(cursor)
            start = {"user_id": _s(user_id), "call_id": _s(after), "created_us": _n(created_us)}
            extra["ExclusiveStartKey"] = start
        items = await self._query("calls", limit + 1, "user_id = :u", {":u": _s(user_id)}, **extra)
        rows = [_call_row(i) for i in items[:limit]]
        if len(items) <= limit:
            return rows, None
        return rows, encode_cursor(int(_num(items[limit - 1], "created_us")), rows[-1].call_id)

    async def set_verdict(self, user_id: str, call_id: str, verdict: Mapping[str, Any]) -> CallRow:
        """Save ``{status, reasoning, evidence[]}`` with the call and move its status."""
        checked = validate_verdict(verdict, self.now(), self.limits.max_call_bytes)
        text = dumps(checked.to_dict(), "verdict", self.limits.max_call_bytes)
        key = {"user_id": _s(user_id), "call_id": _s(call_id)}
        expr = "SET #st = :s, verdict = :v, updated_us = :u REMOVE due_pk, due_sk"
        status, stamp = _s(checked.status), _n(self.stamp_us())
        try:  # attribute_exists(created_us): a real call, not a guard item
            item = await self._update(
                "calls", key, expr, "attribute_exists(created_us)", s=status, v=_s(text), u=stamp
            )
        except _ConditionFailed as exc:
            raise NotFound(f"call {call_id} not found") from exc
        return _call_row(item)

    async def due_calls(self, before: date, limit: int = 100) -> list[CallRow]:
        """Pending calls of any user whose verification_date <= ``before``, oldest date first."""
        if not isinstance(before, date):
            raise InvalidRecord("before", "must be a date")
        # "$" sorts just after "#", so every key "<date>#..." up to ``before`` is below the bound.
        values = {":p": _s("pending"), ":hi": _s(f"{before.isoformat()}$")}
        cond = "due_pk = :p AND due_sk < :hi"
        items = await self._query("calls", self.page_limit(limit), cond, values, IndexName="by_due")
        return [_call_row(i) for i in items]

    # --- chat messages ----------------------------------------------------------------------

    async def append_message(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Append a JSON message; a conditional put on the next seq, retried when raced."""
        if not isinstance(message, Mapping):
            raise InvalidRecord("message", "must be an object")
        text = dumps(dict(message), "message", self.limits.max_message_bytes)
        thread = _s(check_id("thread_id", thread_id))
        for _ in range(_RETRIES * 4):
            last = await self._read_thread(thread, 1)
            seq = int(_num(last[0], "seq")) + 1 if last else 1
            item = {"thread_id": thread, "seq": _n(seq), "data": _s(text)}
            try:
                await self._put(
                    "messages", item | {"created_at": _n(self.now())}, "attribute_not_exists(seq)"
                )
                return seq
            except _ConditionFailed:
                logger.debug("append_message | thread=%s seq=%d raced, retrying", thread_id, seq)
        raise StoreUnavailable(f"append_message thread={thread_id}: too much contention")

    async def _read_thread(self, thread: dict[str, str], last: int | None) -> list[Item]:
        """A thread's items oldest first; with ``last``, only the newest ``last``."""
        extra = {"ConsistentRead": True, "ScanIndexForward": last is None}
        items = await self._query("messages", last, "thread_id = :t", {":t": thread}, **extra)
        return items if last is None else items[::-1]

    async def read_messages(self, thread_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages in order; with ``limit``, only the last ``limit``."""
        if limit == 0:
            return []
        items = await self._read_thread(_s(thread_id), limit)
        return [orjson.loads(i["data"]["S"]) for i in items]


def _state(state: object) -> RunState:
    if state not in RUN_STATES:
        raise InvalidRecord("state", f"must be one of {sorted(RUN_STATES)}")
    return cast(RunState, state)
