"""The $connect authorizer: a valid signed token allows as its sub; anything else is denied."""

from __future__ import annotations

import time

import jwt
import pytest

from agentstream.aws.authorizer import handler

SECRET = "s" * 32
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect"


def token(**claims: object) -> str:
    return jwt.encode({"sub": "alice", "exp": time.time() + 60, **claims}, SECRET, "HS256")


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSTREAM_JWT_SECRET", SECRET)
    monkeypatch.delenv("AGENTSTREAM_JWT_AUDIENCE", raising=False)


def event(query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> dict:
    return {"methodArn": ARN, "queryStringParameters": query, "headers": headers or {}}


def test_a_valid_token_allows_with_its_sub_as_principal() -> None:
    """?token=<valid JWT>: Allow on the method ARN, principalId and context.sub = the sub."""
    answer = handler(event({"token": token()}))
    assert answer["principalId"] == "alice" and answer["context"] == {"sub": "alice"}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ARN}


def test_a_bearer_header_works_too() -> None:
    """Authorization: Bearer <JWT> is read when there is no ?token=."""
    assert handler(event(headers={"Authorization": f"Bearer {token()}"}))["principalId"] == "alice"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-jwt",
        jwt.encode({"sub": "alice", "exp": time.time() + 60}, "x" * 32, "HS256"),
        jwt.encode({"sub": "alice", "exp": time.time() - 10}, SECRET, "HS256"),
        jwt.encode({"sub": "alice"}, SECRET, "HS256"),
        jwt.encode({"exp": time.time() + 60}, SECRET, "HS256"),
    ],
    ids=["missing", "garbage", "forged", "expired", "no-exp", "no-sub"],
)
def test_bad_tokens_are_denied(bad: str) -> None:
    """Missing, garbage, forged, expired, or without exp/sub: Deny, no context."""
    answer = handler(event({"token": bad}))
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in answer


def test_without_a_secret_every_token_is_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTSTREAM_JWT_SECRET configured: denied (never an unsigned identity)."""
    monkeypatch.delenv("AGENTSTREAM_JWT_SECRET")
    assert handler(event({"token": token()}))["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_an_audience_is_checked_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENTSTREAM_JWT_AUDIENCE set: a token for another audience is denied."""
    monkeypatch.setenv("AGENTSTREAM_JWT_AUDIENCE", "agentstream")
    allowed = handler(event({"token": token(aud="agentstream")}))
    denied = handler(event({"token": token(aud="other")}))
    assert allowed["principalId"] == "alice"
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
