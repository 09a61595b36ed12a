"""A local DynamoDB with the template's tables.

A moto server the emulator starts, or the user's own (``--dynamodb-endpoint``, e.g. DynamoDB
Local).

moto passes the checks handlers need (keys, GSIs, TTL settings, conditional writes,
transactions; ``research/aws-offline.md`` §2). Like every local DynamoDB it does not delete
expired items: code should filter on its TTL attribute, as it must on AWS anyway.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from typing import Any

from agentstream.aws.emulator.template import Table

logger = logging.getLogger(__name__)
_TABLE_KEYS = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_table_request(table: Table) -> dict[str, Any]:
    """The ``CreateTable`` arguments for a template's table properties."""
    props = {k: v for k, v in table.properties.items() if k in _TABLE_KEYS}
    props["TableName"] = table.name
    if "ProvisionedThroughput" not in props and "BillingMode" not in props:
        props["BillingMode"] = "PAY_PER_REQUEST"
    if props.get("BillingMode") == "PAY_PER_REQUEST":
        props.pop("ProvisionedThroughput", None)
        for index in props.get("GlobalSecondaryIndexes", []):
            index.pop("ProvisionedThroughput", None)
    if "StreamSpecification" in props:
        props["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return props


class LocalDynamoDB:
    """Owns the local DynamoDB endpoint the handlers use."""

    def __init__(self, endpoint: str | None, region: str) -> None:
        """Use ``endpoint``, or start a moto server when it is None."""
        self._given = endpoint
        self.endpoint = endpoint or ""
        self.region = region
        self._server: Any = None

    def start(self) -> None:
        """Start a moto server unless an endpoint was given."""
        if self._given:
            return
        from moto.server import ThreadedMotoServer

        port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        logger.info("dynamodb moto server at %s", self.endpoint)

    def client(self) -> Any:
        """A boto3 DynamoDB client for the local endpoint."""
        import boto3  # type: ignore[import-untyped]

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="emulator",
            aws_secret_access_key="emulator",  # noqa: S106 - a dummy; nothing reaches AWS
        )

    def create_tables(self, tables: Iterable[Table]) -> None:
        """Create each table (keys, indexes, TTL), skipping those that exist."""
        client = self.client()
        existing = set(client.list_tables().get("TableNames", []))
        for table in tables:
            if table.name not in existing:
                client.create_table(**create_table_request(table))
            ttl = table.properties.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled") in (True, "true", "True"):
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": ttl["AttributeName"],
                    },
                )
            logger.info("dynamodb table=%s ready", table.name)

    def stop(self) -> None:
        """Stop the moto server if this emulator started it."""
        if self._server is not None:
            self._server.stop()
            self._server = None
