"""A ``$connect`` REQUEST authorizer: a signed token in, the user's id (``principalId``) out.

Without an authorizer every connection is its own anonymous user, so a run cannot be resumed or
cancelled from a second connection. With this one (``JwtSecret`` set in the template), a client
connects with ``?token=<JWT>`` (HS256, signed with ``AGENTSTREAM_JWT_SECRET``, with ``sub`` and
``exp``); API Gateway then passes ``principalId`` = ``sub`` to every event of the connection,
which :func:`agentstream.aws.events.user_of` reads. A missing, expired or forged token is denied
(API Gateway answers the handshake 403). The name is never taken from the client unsigned.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)


def _token(event: dict[str, Any]) -> str:
    query = event.get("queryStringParameters") or {}
    if query.get("token"):
        return str(query["token"])
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value if scheme.lower() == "bearer" else ""


def policy(principal: str, effect: str, resource: str) -> dict[str, Any]:
    """The authorizer's answer: ``effect`` (Allow/Deny) on ``resource`` for ``principal``."""
    answer: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if effect == "Allow":
        answer["context"] = {"sub": principal}
    return answer


def subject(token: str, secret: str, audience: str | None = None) -> str | None:
    """The ``sub`` of a valid HS256 token signed with ``secret``, else None."""
    import jwt

    if not token or not secret:
        return None
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            options={"require": ["sub", "exp"], "verify_aud": audience is not None},
        )
    except jwt.PyJWTError as exc:
        logger.info("authorizer | token refused: %s", type(exc).__name__)
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point of the authorizer."""
    resource = str(event.get("methodArn", "*"))
    secret = os.environ.get("AGENTSTREAM_JWT_SECRET", "")
    sub = subject(_token(event), secret, os.environ.get("AGENTSTREAM_JWT_AUDIENCE") or None)
    if sub is None:
        return policy("anonymous", "Deny", resource)
    return policy(sub, "Allow", resource)
