"""Who is asking: identify() over credentials and the auth config, with no I/O."""

from __future__ import annotations

import pytest

from agentstream.gateway.auth import CookieSigner
from agentstream.gateway.identity import (
    BEARER_SUBPROTOCOL,
    AuthConfig,
    BadIdentity,
    Credentials,
    Forbidden,
    Unauthenticated,
    identify,
    subprotocol_token,
)

SIGNER = CookieSigner(b"k" * 32)


class Tokens:
    """A verifier that knows one token per user, and one token for another audience."""

    def subject(self, token: str) -> str:
        if token == "for-someone-else":
            raise Forbidden("wrong audience")
        if not token.startswith("good-"):
            raise Unauthenticated("bad token")
        return token.removeprefix("good-")


OFF = AuthConfig("off", SIGNER)
JWT = AuthConfig("jwt", SIGNER, Tokens())


def test_a_signed_cookie_names_its_user() -> None:
    """With authentication off, a cookie signed by the server names the user, not fresh."""
    who = identify(Credentials(cookie=SIGNER.sign("alice")), OFF)
    assert who.user == "alice" and not who.fresh


def test_no_cookie_gives_a_fresh_anonymous_user_each_time() -> None:
    """Nothing presented: a new unguessable anonymous id per connection."""
    first, second = identify(Credentials(), OFF), identify(Credentials(), OFF)
    assert first.fresh and first.user.startswith("anon-") and first.user != second.user


@pytest.mark.parametrize(
    "cookie",
    [
        CookieSigner(b"other" * 8).sign("alice"),  # another server's secret
        SIGNER.sign("alice")[:-2] + "AA",  # tampered MAC
        SIGNER.sign("bob").split(".")[0] + "." + SIGNER.sign("alice").split(".")[1],  # swapped
        "alice",
        "",
        "%%%.%%%",
    ],
)
def test_a_forged_cookie_is_refused_not_replaced(cookie: str) -> None:
    """A cookie whose MAC does not hold is Unauthenticated (401), never a fresh identity."""
    with pytest.raises(Unauthenticated):
        identify(Credentials(cookie=cookie), OFF)


def test_a_claimed_user_means_nothing_when_auth_is_on() -> None:
    """With authentication on, even a valid cookie is not enough: a token is required."""
    with pytest.raises(Unauthenticated, match="token is required"):
        identify(Credentials(cookie=SIGNER.sign("alice")), JWT)


def test_a_token_is_read_from_header_subprotocol_or_query() -> None:
    """Bearer header, subprotocol pair and ?token= all prove the subject; only the subprotocol
    one asks for the bearer marker to be echoed."""
    offered = ("calledit", BEARER_SUBPROTOCOL, "good-sub")
    assert identify(Credentials(bearer="good-hdr"), JWT).user == "hdr"
    via_protocol = identify(Credentials(subprotocols=offered), JWT)
    assert (via_protocol.user, via_protocol.subprotocol) == ("sub", BEARER_SUBPROTOCOL)
    via_query = identify(Credentials(query_token="good-q"), JWT)
    assert (via_query.user, via_query.subprotocol) == ("q", None)
    cookie_too = identify(Credentials(subprotocols=offered), OFF)  # a browser must get one back
    assert cookie_too.fresh and cookie_too.subprotocol == BEARER_SUBPROTOCOL


def test_token_failures_are_401_and_a_foreign_audience_is_403() -> None:
    """A bad token raises Unauthenticated (401); a genuine one for another audience Forbidden."""
    with pytest.raises(Unauthenticated):
        identify(Credentials(bearer="forged"), JWT)
    with pytest.raises(Forbidden):
        identify(Credentials(bearer="for-someone-else"), JWT)
    assert (Unauthenticated.http_status, Forbidden.http_status) == (401, 403)


def test_a_subject_that_could_forge_a_log_line_is_refused() -> None:
    """A subject with a newline or over 128 characters is BadIdentity."""
    for subject in ("ann\nINFO forged", "x" * 129):
        with pytest.raises(BadIdentity):
            identify(Credentials(bearer="good-" + subject), JWT)
    assert identify(Credentials(bearer="good-" + "x" * 128), JWT).user == "x" * 128


def test_the_bearer_subprotocol_needs_a_token_after_it() -> None:
    """The marker alone, or last in the list, carries no token."""
    assert subprotocol_token([BEARER_SUBPROTOCOL]) is None
    assert subprotocol_token(["calledit", BEARER_SUBPROTOCOL]) is None
    assert subprotocol_token([BEARER_SUBPROTOCOL, "t"]) == "t"


def test_an_authorizer_subject_is_taken_as_proven_in_any_mode() -> None:
    """A subject proved by API Gateway's authorizer (set by the Lambda adapter) names the user."""
    for config in (OFF, JWT):
        assert identify(Credentials(authorized="lambda-user"), config).user == "lambda-user"
    with pytest.raises(BadIdentity):
        identify(Credentials(authorized="x\ny"), OFF)
