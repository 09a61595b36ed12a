"""Who is asking: one function for every transport."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from agentstream.gateway.identity import ANONYMOUS, identify


def connection(
    query: str = "", headers: dict[str, str] | None = None, kind: str = "http"
) -> HTTPConnection:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": kind, "query_string": query.encode(), "headers": raw, "path": "/"}
    return HTTPConnection(scope)


def test_the_query_names_the_user() -> None:
    """?user= names the user, on an HTTP request and on a WebSocket handshake alike."""
    assert identify(connection("user=alice")) == "alice"
    assert identify(connection("user=alice", kind="websocket")) == "alice"


def test_the_header_names_the_user_when_the_query_does_not() -> None:
    """X-User is used when there is no ?user=; the query wins when both are there."""
    assert identify(connection(headers={"X-User": "bob"})) == "bob"
    assert identify(connection("user=alice", {"X-User": "bob"})) == "alice"


def test_nobody_named_is_anonymous() -> None:
    """No query and no header (or empty ones) is the anonymous user."""
    assert identify(connection()) == ANONYMOUS == "anonymous"
    assert identify(connection("user=", {"X-User": ""})) == "anonymous"
