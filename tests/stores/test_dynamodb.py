"""DynamoDB specifics: tables, indexes and TTL as described; a dead endpoint fails fast."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentstream.stores import InvalidRecord, StoreError, StoreUnavailable, open_store
from agentstream.stores.dynamodb import DynamoDBStore, table_specs

pytestmark = pytest.mark.usefixtures("aws_env")


def url(endpoint: str, prefix: str, **extra: object) -> str:
    """A dynamodb:// store URL."""
    query = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"dynamodb://?endpoint={endpoint}&prefix={prefix}&region=us-east-1{query}"


@pytest.fixture
async def created(moto_server: str) -> Any:
    """A store whose tables were just created under a fresh prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    async with open_store(url(moto_server, prefix, create=1)) as store:
        yield store


def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    """A KeySchema as (name, type) pairs."""
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


async def test_tables_indexes_and_ttl(created: DynamoDBStore) -> None:
    """create_tables makes every table with its keys, GSIs and TTL attribute."""
    described = {}
    for short, name in created.tables.items():
        described[short] = (await created.call("describe_table", TableName=name))["Table"]
    assert set(described) == {"connections", "runs", "run_events", "messages"}
    assert keys(described["run_events"]["KeySchema"]) == [("run_id", "HASH"), ("seq", "RANGE")]
    assert keys(described["connections"]["KeySchema"]) == [("conn_id", "HASH")]
    for short in ("connections", "runs", "run_events"):
        ttl = await created.call("describe_time_to_live", TableName=created.tables[short])
        assert ttl["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": "expires_at",
        }


async def test_create_tables_idempotent(created: DynamoDBStore) -> None:
    """Creating the tables again is harmless."""
    await created.create_tables()
    assert await created.list_connections() == []


async def test_missing_tables_named(moto_server: str) -> None:
    """Opening without create=1 on a fresh prefix names the missing table and the fix."""
    store = open_store(url(moto_server, f"t{uuid.uuid4().hex[:10]}_"))
    with pytest.raises(StoreError, match=r"table t\w+_\w+ is missing.*create=1"):
        await store.open()


async def test_expired_item_still_stored_but_filtered(created: DynamoDBStore) -> None:
    """An expired row is still in the table (lazy TTL) yet readers never see it."""
    await created.put_connection("c1", "u1", time.time(), 1)
    created._clock = lambda: time.time() + 5
    raw = await created.call(
        "get_item", TableName=created.tables["connections"], Key={"conn_id": {"S": "c1"}}
    )
    assert "Item" in raw
    assert await created.get_connection("c1") is None


async def test_closed_port_fails_fast() -> None:
    """A DynamoDB endpoint that refuses connections gives StoreUnavailable within seconds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        await open_store(url(f"http://127.0.0.1:{port}", "x_")).open()
    assert time.monotonic() - started < 5


async def test_endpoint_dying_mid_session_fails_fast(
    own_moto: tuple[subprocess.Popen[bytes], str],
) -> None:
    """When DynamoDB goes away under an open store, calls fail fast with StoreUnavailable."""
    proc, endpoint = own_moto
    async with open_store(url(endpoint, "dying_", create=1)) as store:
        await store.put_run("r1", "u1", "calledit")
        proc.kill()
        proc.wait()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.read_events("r1")
        assert time.monotonic() - started < 5


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


async def test_hanging_endpoint_fails_fast(black_hole: int) -> None:
    """An endpoint that accepts but never replies times out into StoreUnavailable."""
    endpoint = f"http://127.0.0.1:{black_hole}"
    store = open_store(url(endpoint, "x_", read_timeout=1, max_attempts=2))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.open()
    assert time.monotonic() - started < 8


def test_url_options() -> None:
    """The dynamodb:// URL sets endpoint, prefix, region, create and timeouts."""
    store = open_store(url("http://h:1", "p_", create="true", read_timeout=1.5, max_attempts=3))
    assert isinstance(store, DynamoDBStore)
    assert (store.endpoint, store.prefix, store.region, store.create) == (
        "http://h:1",
        "p_",
        "us-east-1",
        True,
    )
    assert store._timeouts == (2.0, 1.5, 3)
    assert store.tables["runs"] == "p_runs" and "calls" not in store.tables
    with pytest.raises(InvalidRecord, match="store.max_attempts"):
        open_store("dynamodb://?max_attempts=many")


def test_table_specs_pay_per_request() -> None:
    """Every table is on-demand, so a fresh deployment needs no capacity planning."""
    for spec, _ in table_specs("p_").values():
        assert spec["BillingMode"] == "PAY_PER_REQUEST"


def test_import_is_light() -> None:
    """Importing agentstream.stores loads neither boto3 nor botocore."""
    code = (
        "import sys, agentstream.stores; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
