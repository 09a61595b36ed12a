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
import subprocess
import sys
import time
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


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Block until the server accepts connections (or fail if it died or took too long)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise OSError(f"moto server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    proc.kill()
    raise OSError(f"moto server did not listen on port {port} within {timeout:.0f} s")


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
        self._server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start a moto server unless an endpoint was given.

        A process of its own, not moto's threaded server: moto keeps its tables in module
        globals, so two emulators in one process (tests, a notebook) would share them.
        """
        if self._given:
            return
        port = _free_port()
        self._server = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        _wait_for_port(port, self._server)
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
                try:
                    client.create_table(**create_table_request(table))
                except client.exceptions.ResourceInUseException:
                    logger.info("dynamodb table=%s already exists; kept", table.name)
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
            self._server.terminate()
            try:
                self._server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
            self._server = None
