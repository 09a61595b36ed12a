"""Template tables become local DynamoDB tables with their keys, indexes and TTL."""

from __future__ import annotations

from agentstream.aws.emulator.dynamodb import LocalDynamoDB, create_table_request
from agentstream.aws.emulator.template import Table

PROPS = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "gsi",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
    "Tags": [{"Key": "k", "Value": "v"}],
}


def test_create_table_request_keeps_only_create_table_arguments() -> None:
    """TTL and Tags are not CreateTable arguments; on-demand tables drop throughput."""
    request = create_table_request(Table("T", "name-1", PROPS))
    assert request["TableName"] == "name-1"
    assert "TimeToLiveSpecification" not in request and "Tags" not in request
    assert "ProvisionedThroughput" not in request["GlobalSecondaryIndexes"][0]


def test_table_without_billing_mode_is_on_demand() -> None:
    """No BillingMode and no throughput: PAY_PER_REQUEST, as a SimpleTable is."""
    request = create_table_request(Table("T", "n", {"KeySchema": PROPS["KeySchema"]}))
    assert request["BillingMode"] == "PAY_PER_REQUEST"


def test_tables_are_created_in_moto_with_ttl_and_indexes() -> None:
    """A started moto server gets the table, its GSI and TTL; creating twice is harmless."""
    db = LocalDynamoDB(None, "us-east-1")
    db.start()
    try:
        table = Table("T", "emu-table", PROPS)
        db.create_tables([table])
        db.create_tables([table])
        client = db.client()
        described = client.describe_table(TableName="emu-table")["Table"]
        ttl = client.describe_time_to_live(TableName="emu-table")["TimeToLiveDescription"]
    finally:
        db.stop()
    assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "gsi"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_two_local_dynamodbs_in_one_process_do_not_share_tables() -> None:
    """Each emulator's moto runs in its own process: an item in one is absent from the other."""
    first, second = LocalDynamoDB(None, "us-east-1"), LocalDynamoDB(None, "us-east-1")
    first.start()
    second.start()
    try:
        table = Table("T", "shared-name", PROPS)
        first.create_tables([table])
        second.create_tables([table])
        first.client().put_item(TableName="shared-name", Item={"pk": {"S": "only-in-first"}})
        other = second.client().scan(TableName="shared-name")["Items"]
    finally:
        first.stop()
        second.stop()
    assert other == []
