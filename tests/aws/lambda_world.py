"""Shared pieces of the AWS tests: API Gateway-shaped events, moto server, the stub, an app.

Events are built with the full ``requestContext`` API Gateway sends and validated with
aws-lambda-powertools' models, so the fixtures cannot drift from AWS's event shape.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from moto.server import ThreadedMotoServer
from pydantic import BaseModel

from agentstream import AgentApp
from agentstream.aws.lambda_adapter import LambdaAdapter
from agentstream.aws.launch import QueueLauncher
from agentstream.gateway.context import RouteContext
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk
from tests.aws.mgmt_stub import ManagementStub, free_port

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"


def _context(conn: str, route: str, kind: str, user: str | None) -> dict[str, Any]:
    now = time.time()
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": kind,
        "extendedRequestId": uuid.uuid4().hex,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": "prod",
        "connectedAt": int(now * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        "requestId": uuid.uuid4().hex,
        "domainName": DOMAIN,
        "connectionId": conn,
        "apiId": "abc123",
    }
    if kind == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex
    else:
        context["disconnectStatusCode"] = 1000
        context["disconnectReason"] = ""
    if user is not None:
        context["authorizer"] = {"principalId": user, "integrationLatency": 3}
    return context


def connect_event(
    conn: str, user: str | None = None, query: dict[str, str] | None = None, protocol: str = ""
) -> dict[str, Any]:
    """A ``$connect`` event, with an authorizer's principal when ``user`` is given."""
    headers = {"Host": DOMAIN, "Sec-WebSocket-Version": "13"}
    if protocol:
        headers["Sec-WebSocket-Protocol"] = protocol
    event = {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "requestContext": _context(conn, "$connect", "CONNECT", user),
        "isBase64Encoded": False,
    }
    APIGatewayWebSocketConnectEventModel.model_validate(event)
    return event


def message_event(conn: str, body: Any, user: str | None = None) -> dict[str, Any]:
    """A message event on the route API Gateway would select from ``body``'s action."""
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    action = body.get("action") if isinstance(body, dict) else None
    route = action if action in ("count", "whoami") else "$default"
    event = {
        "requestContext": _context(conn, route, "MESSAGE", user),
        "body": text,
        "isBase64Encoded": False,
    }
    APIGatewayWebSocketMessageEventModel.model_validate(event)
    return event


def disconnect_event(conn: str, user: str | None = None) -> dict[str, Any]:
    """A ``$disconnect`` event."""
    headers = {"Host": DOMAIN}
    event = {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": _context(conn, "$disconnect", "DISCONNECT", user),
        "isBase64Encoded": False,
    }
    APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    return event


class Count(BaseModel):
    """Count to ``n``, one word per ``delay`` seconds."""

    n: int = 5
    delay: float = 0.0


def make_app() -> AgentApp:
    """A small app in the CalledIt dialect: a streaming ``count`` and a ``whoami`` reply."""
    app = AgentApp(name="awstest", dialect="calledit")

    @app.run("count", Count)
    async def count(request: Count, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            if ctx.cancel_signal.is_set():
                return
            await asyncio.sleep(request.delay)
            yield TextMessageChunk(delta=f"w{i} ")
        yield RunFinished(result={"counted": request.n, "user": ctx.user})

    @app.reply("whoami", Count)
    async def whoami(request: Count, ctx: Any) -> dict[str, Any]:
        return {"user": ctx.user}

    return app


@dataclass
class AwsWorld:
    """A moto server, the management stub and an adapter wired to both."""

    adapter: LambdaAdapter
    stub: ManagementStub
    launcher: QueueLauncher
    dynamodb: str

    def frames(self, conn: str) -> list[dict[str, Any]]:
        """The frames posted to ``conn``, decoded."""
        return [orjson.loads(f) for f in self.stub.frames[conn]]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server (DynamoDB over its real wire protocol) in this process, on a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> Iterator[AwsWorld]:
    """An adapter on a fresh table prefix, posting to a fresh management stub."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    with ManagementStub() as stub:
        monkeypatch.setenv("AGENTSTREAM_MANAGEMENT_ENDPOINT", stub.endpoint)
        prefix = f"t{uuid.uuid4().hex[:8]}_"
        store = f"dynamodb://?endpoint={moto_endpoint}&prefix={prefix}&region=us-east-1&create=1"
        settings = Settings(model="scripted", store=store, detach_grace_s=60)
        launcher = QueueLauncher()
        adapter = LambdaAdapter(make_app(), settings, launcher=launcher, window_s=0.05)
        yield AwsWorld(adapter, stub, launcher, moto_endpoint)


def http_event(body: Any, method: str = "POST", user: str | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) request, with a Lambda authorizer's principal when given."""
    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

    now = time.time()
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "http123",
        "domainName": "http123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "http123",
        "http": {
            "method": method,
            "path": "/invoke",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "pytest",
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": f"{method} /invoke",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if user is not None:
        context["authorizer"] = {"lambda": {"principalId": user}}
    event = {
        "version": "2.0",
        "routeKey": f"{method} /invoke",
        "rawPath": "/invoke",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": orjson.dumps(body).decode(),
        "isBase64Encoded": False,
    }
    APIGatewayProxyEventV2Model.model_validate(event)
    return event
