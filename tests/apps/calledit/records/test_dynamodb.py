"""CalledIt's calls on DynamoDB: their table beside the framework's, the run guard, no table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from agentstream.apps.calledit.records import calls_of
from agentstream.stores import StoreError, open_store
from agentstream.stores.dynamodb import DynamoDBStore

pytestmark = pytest.mark.usefixtures("aws_env")

RECORD: dict[str, Any] = {
    "prediction_statement": "x",
    "verification_date": "2030-01-01",
    "verification_method": {"source": ["s"], "criteria": ["c"], "steps": ["t"]},
    "initial_status": "pending",
}


def url(endpoint: str, prefix: str, create: bool = True) -> str:
    """A dynamodb:// store URL on a local endpoint."""
    tail = "&create=1" if create else ""
    return f"dynamodb://?endpoint={endpoint}&prefix={prefix}&region=us-east-1{tail}"


@pytest.fixture
async def created(moto_server: str) -> AsyncIterator[DynamoDBStore]:
    """A store whose framework tables were just created under a fresh prefix."""
    async with open_store(url(moto_server, f"t{uuid.uuid4().hex[:10]}_")) as store:
        assert isinstance(store, DynamoDBStore)
        yield store


def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    """A KeySchema as (name, type) pairs."""
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


async def test_calls_table_keys_and_indexes(created: DynamoDBStore) -> None:
    """The first use creates <prefix>calls with its keys and both GSIs, and no TTL."""
    assert "calls" not in created.tables
    await calls_of(created).list_calls("u1")
    assert created.tables["calls"] == f"{created.prefix}calls"
    table = (await created.call("describe_table", TableName=created.tables["calls"]))["Table"]
    assert keys(table["KeySchema"]) == [("user_id", "HASH"), ("call_id", "RANGE")]
    indexes = {i["IndexName"]: keys(i["KeySchema"]) for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by_user_created": [("user_id", "HASH"), ("created_us", "RANGE")],
        "by_due": [("due_pk", "HASH"), ("due_sk", "RANGE")],
    }
    ttl = await created.call("describe_time_to_live", TableName=created.tables["calls"])
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


async def test_guard_item_invisible_to_listings(created: DynamoDBStore) -> None:
    """The (user, run) guard item exists but no index (listing, due) ever returns it."""
    calls = calls_of(created)
    saved = await calls.save_call("u1", RECORD, run_id="r1")
    key = {"user_id": {"S": "u1"}, "call_id": {"S": "run#r1"}}
    guard = await created.call("get_item", TableName=created.tables["calls"], Key=key)
    assert guard["Item"]["target"] == {"S": saved.call_id}
    assert [r.call_id for r in (await calls.list_calls("u1"))[0]] == [saved.call_id]
    assert [r.call_id for r in await calls.due_calls(date(2030, 1, 1))] == [saved.call_id]


async def test_missing_calls_table_is_named(moto_server: str) -> None:
    """Without create=1, a deployment lacking the calls table gets an error naming it."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    async with open_store(url(moto_server, prefix)):
        pass  # the framework's tables now exist; CalledIt's do not
    async with open_store(url(moto_server, prefix, create=False)) as store:
        with pytest.raises(StoreError, match=f"table {prefix}calls is missing"):
            await calls_of(store).list_calls("u1")


async def test_one_call_store_per_store(created: DynamoDBStore) -> None:
    """calls_of gives the same call store for a store each time (its tables are checked once)."""
    assert calls_of(created) is calls_of(created)
