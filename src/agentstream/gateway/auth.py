"""The parts that prove identity: the cookie signer, the JWT verifier, and where the secret lives.

The anonymous cookie is signed with the standard library's HMAC-SHA256 rather than as a JWT: its
only claim is the user id, verification is one ``hmac.compare_digest``, and keeping it a
different format from bearer JWTs means a cookie can never be replayed as a token (or a token as
a cookie) when the two share a secret. Bearer JWTs use PyJWT, with the algorithm pinned per key
source (HS256 for a shared secret; RS256/ES256 for a JWKS file or URL) and ``exp`` required.

The signing secret, in order: ``Settings.secret`` (``AGENTSTREAM_SECRET`` / ``--secret``); the
store's ``shared_secret()`` (:class:`SharedSecret`: a store every node of a cluster shares, e.g.
Redis); a ``secret.key`` file (mode 0600) next to a SQLite store's file, made once; else a random
in-process secret (in-memory stores, no store: cookies last as long as the process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import jwt

from agentstream.gateway.apikeys import KeyRing
from agentstream.gateway.identity import (
    AuthConfig,
    AuthMode,
    Forbidden,
    TokenVerifier,
    Unauthenticated,
)
from agentstream.gateway.settings import Settings

logger = logging.getLogger(__name__)

SECRET_FILE = "secret.key"
ASYMMETRIC = ["RS256", "ES256"]


@runtime_checkable
class SharedSecret(Protocol):
    """A store that keeps one signing secret for every node (``shared_secret()`` may be async)."""

    def shared_secret(self) -> Any:
        """The secret bytes (or an awaitable of them), the same on every node."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """HMAC-SHA256 over the user id: ``<b64 user>.<b64 mac>`` (see the module docstring)."""

    def __init__(self, secret: bytes) -> None:
        """Sign with ``secret`` (at least 32 random bytes)."""
        self._key = hashlib.sha256(b"agentstream cookie\0" + secret).digest()

    def _mac(self, user: bytes) -> bytes:
        return hmac.new(self._key, user, hashlib.sha256).digest()

    def sign(self, user: str) -> str:
        """The cookie value naming ``user``."""
        raw = user.encode("utf-8")
        return f"{_b64(raw)}.{_b64(self._mac(raw))}"

    def verify(self, value: str) -> str | None:
        """The user ``value`` names, None when it is malformed or its MAC does not hold."""
        head, _, mac = value.partition(".")
        try:
            raw, given = _unb64(head), _unb64(mac)
            user = raw.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if hmac.compare_digest(given, self._mac(raw)) else None


class JwtVerifier:
    """Checks JWTs: signature, ``exp`` (required), ``aud`` and ``iss`` when configured."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        """Verify with an HS256 ``secret``, or RS256/ES256 keys from a ``jwks`` file or URL."""
        if not secret and not jwks:
            raise ValueError("JWT authentication needs --jwt-secret or --jwks")
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        if jwks and urlsplit(jwks).scheme in ("http", "https"):
            self._client = jwt.PyJWKClient(jwks, cache_keys=True)
        elif jwks:
            self._keys = jwt.PyJWKSet.from_json(Path(jwks).read_text())

    def _key(self, token: str) -> tuple[Any, list[str]]:
        if self._secret:
            return self._secret, ["HS256"]
        if self._client is not None:
            jwk = self._client.get_signing_key_from_jwt(token)
        else:
            assert self._keys is not None  # set in __init__ when there is no secret and no URL
            kid = jwt.get_unverified_header(token).get("kid")
            keys = [k for k in self._keys.keys if kid is None or k.key_id == kid]
            if not keys:
                raise jwt.InvalidTokenError("no key for this token's kid")
            jwk = keys[0]
        # Only the key's own algorithm: an ES256 token never meets an RSA key (or HS256 any).
        if jwk.algorithm_name not in ASYMMETRIC:
            raise jwt.InvalidTokenError(f"key algorithm {jwk.algorithm_name} not accepted")
        return jwk.key, [jwk.algorithm_name]

    def subject(self, token: str) -> str:
        """The ``sub`` of a valid token.

        Raises:
            Unauthenticated: malformed, badly signed, expired, or without ``sub``/``exp``.
            Forbidden: the audience or issuer is not this server's.
        """
        try:
            key, algorithms = self._key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
            raise Forbidden(f"token not for this server: {type(exc).__name__}") from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthenticated(f"the token is not valid: {type(exc).__name__}") from None
        return str(claims["sub"])


def data_dir(store_url: str | None) -> Path | None:
    """The folder a SQLite store keeps its file in (None for in-memory and other stores)."""
    from agentstream.stores import default_path

    url = store_url or os.environ.get("AGENTSTREAM_STORE") or f"sqlite://{default_path()}"
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc == ":memory:" or not parts.path:
        return None
    return Path(parts.path).parent


def file_secret(folder: Path) -> bytes:
    """The secret in ``folder/secret.key``, made (mode 0600) the first time."""
    path = folder / SECRET_FILE
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    logger.info("auth | made a new signing secret in %s", path)
    return bytes.fromhex(path.read_text().strip())


async def signing_secret(settings: Settings, store: object | None) -> bytes:
    """The cookie signing secret (see the module docstring for the order)."""
    if settings.secret:
        return settings.secret.encode("utf-8")
    if isinstance(store, SharedSecret):
        value = store.shared_secret()
        if inspect.isawaitable(value):
            value = await value
        return bytes(value)
    folder = data_dir(settings.store) if settings.store != "none" else None
    if folder is not None:
        return file_secret(folder)
    return secrets.token_bytes(32)


def token_verifier(settings: Settings) -> TokenVerifier | None:
    """The verifier ``settings.auth`` asks for (None when authentication is off)."""
    if settings.auth == "jwt":
        return JwtVerifier(
            secret=settings.jwt_secret,
            jwks=settings.jwks,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    if settings.auth == "apikey":
        return KeyRing(keys_path(settings))
    return None


def keys_path(settings: Settings) -> Path:
    """Where API key hashes live: ``Settings.api_keys_file``, else ``api-keys.json`` by the data."""
    if settings.api_keys_file:
        return Path(settings.api_keys_file)
    from agentstream.stores import default_path

    folder = data_dir(settings.store) or default_path().parent
    return folder / "api-keys.json"


def auth_mode(value: str) -> AuthMode:
    """``value`` as an auth mode.

    Raises:
        ValueError: not one of off, jwt, apikey.
    """
    if value not in ("off", "jwt", "apikey"):
        raise ValueError(f"auth must be off, jwt or apikey, not {value!r}")
    return value  # type: ignore[return-value]


async def build_auth(settings: Settings, store: object | None = None) -> AuthConfig:
    """The auth config ``settings`` describe, with the secret from ``store`` where it has one."""
    secret = await signing_secret(settings, store)
    mode = auth_mode(settings.auth)
    return AuthConfig(mode, CookieSigner(secret), token_verifier(settings))


def quick_auth(settings: Settings) -> AuthConfig:
    """An auth config before the store is open (tests without a lifespan): no store secret."""
    secret = settings.secret.encode("utf-8") if settings.secret else secrets.token_bytes(32)
    return AuthConfig(auth_mode(settings.auth), CookieSigner(secret), token_verifier(settings))
