"""HTTP API events: recognised, and read (method, path, body, user) for the adapter."""

from __future__ import annotations

import base64

from agentstream.aws.http_events import is_http, read_http
from tests.aws.lambda_world import http_event, message_event


def test_http_api_and_rest_events_are_told_from_websocket_ones() -> None:
    """HTTP API 2.0 and REST 1.0 events are HTTP; WebSocket events are not."""
    assert is_http(http_event({}))
    assert is_http({"httpMethod": "POST", "path": "/invoke", "requestContext": {}})
    assert not is_http(message_event("c", {}))


def test_an_http_api_event_is_read_with_its_lambda_authorizer_user() -> None:
    """Method, path, body bytes, and the Lambda authorizer's principal as the user."""
    request = read_http(http_event({"action": "ping"}, user="alice"))
    assert (request.method, request.path, request.user) == ("POST", "/invoke", "alice")
    assert request.body == b'{"action":"ping"}'


def test_without_an_authorizer_the_user_is_anonymous_per_request() -> None:
    """No authorizer: anon-<requestId>."""
    event = http_event({})
    assert read_http(event).user == "anon-" + event["requestContext"]["requestId"]


def test_a_rest_event_with_a_base64_body_is_read() -> None:
    """REST (1.0): httpMethod, path, base64 body, JWT claims' sub."""
    event = {
        "httpMethod": "post",
        "path": "/invoke",
        "body": base64.b64encode(b"{}").decode(),
        "isBase64Encoded": True,
        "queryStringParameters": {"dialect": "agentstream"},
        "requestContext": {"requestId": "r1", "authorizer": {"claims": {"sub": "bob"}}},
    }
    request = read_http(event)
    assert (request.method, request.body, request.user) == ("POST", b"{}", "bob")
    assert request.query == {"dialect": "agentstream"}
