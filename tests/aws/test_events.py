"""Reading API Gateway WebSocket events: route, identity, endpoint, body, subprotocols."""

from __future__ import annotations

import base64

import pytest

from agentstream.aws.events import management_endpoint, principal, read_event, user_of
from tests.aws.lambda_world import connect_event, message_event


def test_a_message_event_is_read_with_its_authorizer_principal() -> None:
    """principalId is the user; the endpoint is https://{domain}/{stage}, stage included."""
    ws = read_event(message_event("c1=", {"action": "ping"}, "alice"))
    assert (ws.route_key, ws.event_type, ws.connection_id, ws.user) == (
        "$default",
        "MESSAGE",
        "c1=",
        "alice",
    )
    assert ws.endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert ws.body == '{"action":"ping"}'


def test_without_an_authorizer_the_user_is_anonymous_per_connection() -> None:
    """No authorizer: anon-<connectionId>, different for every connection."""
    assert read_event(message_event("x", {})).user == "anon-x"
    assert read_event(message_event("y", {})).user == "anon-y"


@pytest.mark.parametrize(
    ("authorizer", "expected"),
    [
        ({"principalId": "p1"}, "p1"),
        ({"sub": "s1"}, "s1"),
        ({"claims": {"sub": "c1"}}, "c1"),
        ({"jwt": {"claims": {"sub": "j1"}}}, "j1"),
        ({"principalId": "has space"}, None),
        ({"principalId": "a#b"}, None),
        ({"principalId": ""}, None),
        ({"principalId": "x" * 201}, None),
        ("not a dict", None),
    ],
)
def test_principal_reads_the_authorizers_forms(authorizer: object, expected: str | None) -> None:
    """principalId, sub, claims.sub and jwt.claims.sub count; ids the store refuses do not."""
    assert principal({"authorizer": authorizer}) == expected


def test_an_unusable_principal_falls_back_to_the_anonymous_id() -> None:
    """A principal with a space is not used: the connection's anonymous id is."""
    assert user_of({"authorizer": {"principalId": "a b"}, "connectionId": "k"}) == "anon-k"


def test_the_management_endpoint_can_be_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENTSTREAM_MANAGEMENT_ENDPOINT overrides the URL built from the event (trailing / cut)."""
    monkeypatch.setenv("AGENTSTREAM_MANAGEMENT_ENDPOINT", "http://127.0.0.1:9/dev/")
    assert management_endpoint({"domainName": "d", "stage": "s"}) == "http://127.0.0.1:9/dev"


def test_connect_event_query_and_offered_subprotocols_are_read() -> None:
    """queryStringParameters and Sec-WebSocket-Protocol (comma separated) are kept."""
    ws = read_event(connect_event("c", query={"dialect": "calledit"}, protocol="a, b"))
    assert ws.route_key == "$connect" and ws.query == {"dialect": "calledit"}
    assert ws.protocols == ("a", "b")


def test_a_base64_body_is_decoded() -> None:
    """isBase64Encoded bodies are decoded to text."""
    event = message_event("c", {"action": "ping"})
    event["body"], event["isBase64Encoded"] = base64.b64encode(b'{"a":1}').decode(), True
    assert read_event(event).body == '{"a":1}'


def test_an_event_without_connection_id_raises_value_error() -> None:
    """A dict that is no WebSocket event is refused with ValueError."""
    with pytest.raises(ValueError, match="connectionId"):
        read_event({"requestContext": {}})
