"""DynamoDB plumbing without a server: botocore errors translated, table specs from shapes."""

from __future__ import annotations

import pytest
from botocore import exceptions as botocore_errors

from agentstream.stores import StoreError, StoreUnavailable
from agentstream.stores.dynamodb_base import (
    ConditionFailed,
    Table,
    TransactionCancelled,
    table_spec,
    translate,
)


def client_error(code: str, **extra: object) -> botocore_errors.ClientError:
    """A ClientError as botocore raises it."""
    return botocore_errors.ClientError({"Error": {"Code": code, "Message": "m"}, **extra}, "Op")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("ConditionalCheckFailedException"), ConditionFailed),
        (client_error("ThrottlingException"), StoreUnavailable),
        (client_error("ValidationException"), StoreError),
        (botocore_errors.EndpointConnectionError(endpoint_url="http://x"), StoreUnavailable),
    ],
)
def test_botocore_errors_map_to_the_store_tree(exc: Exception, expected: type) -> None:
    """Each botocore failure becomes the store error a caller can act on (exact class)."""
    assert type(translate(exc, "put_item")) is expected


def test_a_cancelled_transaction_keeps_its_reasons() -> None:
    """TransactionCanceledException keeps one reason code per item, in order."""
    reasons = [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]
    exc = translate(client_error("TransactionCanceledException", CancellationReasons=reasons), "t")
    assert isinstance(exc, TransactionCancelled)
    assert exc.codes == ["ConditionalCheckFailed", "None"]


def test_table_spec_types_keys_and_indexes() -> None:
    """A Table becomes CreateTable arguments: numbers as N, each GSI projected, on demand."""
    spec = table_spec("p_t", Table("pk", "n", indexes={"g": ("a", "n")}, numeric=frozenset("n")))
    kinds = {d["AttributeName"]: d["AttributeType"] for d in spec["AttributeDefinitions"]}
    assert kinds == {"a": "S", "n": "N", "pk": "S"}
    assert spec["GlobalSecondaryIndexes"][0]["IndexName"] == "g"
    assert spec["BillingMode"] == "PAY_PER_REQUEST" and spec["TableName"] == "p_t"
