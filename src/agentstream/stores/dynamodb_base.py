"""DynamoDB plumbing: the client in worker threads, error translation, tables, item helpers.

:class:`DynamoDBBase` owns the boto3 client and the few typed operations every table needs
(get, conditional put, update, paged query and scan), with botocore errors translated into the
store's tree at this one boundary. :class:`~agentstream.stores.dynamodb.DynamoDBStore` builds the
framework's nouns on it; an app that keeps its own records on DynamoDB (CalledIt's calls) adds
its tables with :meth:`DynamoDBBase.ensure_tables` and uses the same operations.

boto3 is imported lazily (``import agentstream.stores`` stays light) and its thread-safe
low-level client runs in worker threads; short timeouts and few retries make a dead endpoint fail
fast with StoreUnavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

from agentstream.stores.base import BaseStore
from agentstream.stores.errors import Conflict, StoreError, StoreUnavailable
from agentstream.stores.rows import Limits

logger = logging.getLogger(__name__)

Item = dict[str, dict[str, Any]]
T = TypeVar("T")
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
RETRIES: Final = 8
_POOL: Final = 32


class ConditionFailed(Conflict):
    """A ConditionExpression did not hold (each call site says what that means)."""


class TransactionCancelled(Conflict):
    """A TransactWriteItems was cancelled; ``codes`` holds one reason per item."""

    def __init__(self, message: str, codes: list[str]) -> None:
        """Keep the per-item reasons."""
        super().__init__(message)
        self.codes = codes


def s(value: str) -> dict[str, str]:
    """A DynamoDB string attribute."""
    return {"S": value}


def n(value: float) -> dict[str, str]:
    """A DynamoDB number attribute (floats keep their exact repr)."""
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def num(item: Item, name: str) -> float:
    """A number attribute of ``item``."""
    return float(item[name]["N"])


@dataclass(frozen=True)
class Table:
    """One table's shape: keys, TTL attribute, GSIs (name: (partition, sort)), number attrs."""

    pk: str
    sk: str | None = None
    ttl: str | None = None
    indexes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    numeric: frozenset[str] = frozenset()


def _schema(pk: str, sk: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": pk, "KeyType": "HASH"}]
    return keys + ([{"AttributeName": sk, "KeyType": "RANGE"}] if sk else [])


def table_spec(name: str, table: Table) -> dict[str, Any]:
    """The CreateTable arguments for ``table`` under the full ``name``."""
    names = {table.pk, *([table.sk] if table.sk else [])}
    names |= {attr for key in table.indexes.values() for attr in key}
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _schema(table.pk, table.sk),
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "N" if a in table.numeric else "S"}
            for a in sorted(names)
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        spec["GlobalSecondaryIndexes"] = [
            {"IndexName": i, "KeySchema": _schema(*k), "Projection": {"ProjectionType": "ALL"}}
            for i, k in table.indexes.items()
        ]
    return spec


def translate(exc: Exception, op: str) -> StoreError:
    """Map a botocore error to the store's error tree."""
    from botocore import exceptions as errors  # type: ignore[import-untyped]

    if isinstance(exc, errors.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "ConditionalCheckFailedException":
            return ConditionFailed(f"{op}: condition failed")
        if code == "TransactionCanceledException":
            reasons = exc.response.get("CancellationReasons", [])
            return TransactionCancelled(message, [r.get("Code", "None") for r in reasons])
        if code in _UNAVAILABLE_CODES:
            return StoreUnavailable(f"dynamodb {op}: {code}: {message}")
        return StoreError(f"dynamodb {op}: {code}: {message}")
    if isinstance(exc, errors.ConnectionError | errors.HTTPClientError):
        return StoreUnavailable(f"dynamodb {op}: endpoint unreachable: {exc}")
    if isinstance(exc, errors.ParamValidationError):
        return StoreError(f"dynamodb {op}: {exc}")
    return StoreError(f"dynamodb {op}: {type(exc).__name__}: {exc}")


class DynamoDBBase(BaseStore):
    """The client, its worker threads and typed operations on tables named by short name."""

    TABLES: Mapping[str, Table] = {}

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
        self.tables = {short: f"{prefix}{short}" for short in self.TABLES}
        self._client: Any = None
        self._executor: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        """Build the client, then create the tables (``create``) or check they exist."""
        if self._client is not None:
            return
        # Own threads, sized like the HTTP pool: store calls never queue behind other work
        # (model generation) in the loop's default executor, nor starve it.
        self._executor = ThreadPoolExecutor(_POOL, thread_name_prefix="agentstream-dynamodb")
        self._client = await self._in_thread(self._make_client)
        try:
            await self._ready(self.TABLES)
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

    async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """Run one DynamoDB API call in a worker thread, translating its errors."""
        if self._client is None:
            raise StoreError("store is not open")
        try:
            result: dict[str, Any] = await self._in_thread(getattr(self._client, op), **kwargs)
        except Exception as exc:  # translated at the boundary, never swallowed
            raise translate(exc, op) from exc
        return result

    # --- tables -----------------------------------------------------------------------------

    async def ensure_tables(self, tables: Mapping[str, Table]) -> None:
        """Add an app's tables: create them (``create``) or check they exist, then use them."""
        await self._ready(tables)
        self.tables |= {short: f"{self.prefix}{short}" for short in tables}

    async def _ready(self, tables: Mapping[str, Table]) -> None:
        if self.create:
            await self.create_tables(tables)
            return
        for short in tables:
            await self._describe(f"{self.prefix}{short}")

    async def _describe(self, table: str) -> dict[str, Any]:
        try:
            return await self.call("describe_table", TableName=table)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            hint = "create it with create_tables() or ?create=1"
            raise StoreError(f"table {table} is missing or unreadable ({exc}); {hint}") from exc

    async def create_tables(self, tables: Mapping[str, Table] | None = None) -> None:
        """Create every table (default: the store's own), wait until active, enable TTL.

        Idempotent: a table that exists already is left as it is.
        """
        for short, table in (self.TABLES if tables is None else tables).items():
            spec = table_spec(f"{self.prefix}{short}", table)
            try:
                await self.call("create_table", **spec)
                logger.info("dynamodb | created table=%s", spec["TableName"])
            except StoreError as exc:
                if "ResourceInUseException" not in str(exc):
                    raise
            await self._wait_active(spec["TableName"])
            if table.ttl:
                await self._enable_ttl(spec["TableName"], table.ttl)

    async def _wait_active(self, table: str, timeout_s: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (await self._describe(table))["Table"]["TableStatus"] != "ACTIVE":
            if asyncio.get_running_loop().time() > deadline:
                raise StoreUnavailable(f"table {table} not active after {timeout_s}s")
            await asyncio.sleep(0.5)

    async def _enable_ttl(self, table: str, attr: str) -> None:
        found = await self.call("describe_time_to_live", TableName=table)
        if found["TimeToLiveDescription"]["TimeToLiveStatus"] in ("ENABLED", "ENABLING"):
            return
        spec = {"Enabled": True, "AttributeName": attr}
        await self.call("update_time_to_live", TableName=table, TimeToLiveSpecification=spec)

    # --- items ------------------------------------------------------------------------------

    async def get(self, table: str, **key: dict[str, str]) -> Item | None:
        """A consistent read of one item, or None."""
        name = self.tables[table]
        found = await self.call("get_item", TableName=name, Key=key, ConsistentRead=True)
        return cast(Item | None, found.get("Item"))

    async def put(self, table: str, item: Item, condition: str | None = None) -> None:
        """Write an item; with ``condition``, :class:`ConditionFailed` when it does not hold."""
        extra = {"ConditionExpression": condition} if condition else {}
        await self.call("put_item", TableName=self.tables[table], Item=item, **extra)

    async def update(
        self, table: str, key: Item, expr: str, cond: str, status: str, **values: Any
    ) -> Item:
        """UpdateItem with ``#st`` naming ``status`` (a reserved word), returning the new item."""
        found = await self.call(
            "update_item",
            TableName=self.tables[table],
            Key=key,
            UpdateExpression=expr,
            ConditionExpression=cond,
            ExpressionAttributeNames={"#st": status},
            ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
            ReturnValues="ALL_NEW",
        )
        return cast(Item, found["Attributes"])

    async def query(
        self, table: str, want: int | None, cond: str, values: Item, **extra: Any
    ) -> list[Item]:
        """Query page after page until ``want`` items (None: all) are in hand."""
        kwargs = {"TableName": self.tables[table], "KeyConditionExpression": cond, **extra}
        kwargs["ExpressionAttributeValues"] = values
        items: list[Item] = []
        while True:
            if want is not None:
                kwargs["Limit"] = want - len(items)
            page = await self.call("query", **kwargs)
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start or (want is not None and len(items) >= want):
                return items
            kwargs["ExclusiveStartKey"] = start

    async def scan(self, table: str, **kwargs: Any) -> list[Item]:
        """Every item of a table (with optional filter arguments)."""
        items: list[Item] = []
        while True:
            page = await self.call("scan", TableName=self.tables[table], **kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def live(self, item: Item | None) -> Item | None:
        """Filter an expired item in code: DynamoDB deletes TTL'd items lazily (up to days)."""
        if item is None or num(item, "expires_at") <= self.now():
            return None
        return item
