"""Proving identity: cookie signing, JWT (HS256; RS256, ES256 from JWKS), the secret, refusals."""

from __future__ import annotations

import json
import logging
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from websockets.exceptions import InvalidStatus

from agentstream.gateway.auth import CookieSigner, JwtVerifier, build_auth, signing_secret
from agentstream.gateway.identity import BEARER_SUBPROTOCOL, Forbidden, Unauthenticated
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, recv_run, serve
from tests.gateway.test_http import echo_app

SECRET = "s" * 40


def token(sub: str = "alice", *, key: Any = SECRET, alg: str = "HS256", **claims: Any) -> str:
    """A JWT for ``sub`` valid for an hour, audience ``agentstream`` (claims override)."""
    body = {"sub": sub, "aud": "agentstream", "exp": int(time.time()) + 3600} | claims
    headers = {"kid": claims.pop("kid", "k1")} if alg != "HS256" else None
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, alg, headers)


def test_the_cookie_signer_round_trips_any_printable_user() -> None:
    """A signed value verifies to its user, including non-ASCII and dots; one flipped bit fails."""
    signer = CookieSigner(b"x" * 32)
    for user in ("alice", "anon-a.b.c", "zoë 🦊"):
        assert signer.verify(signer.sign(user)) == user
    value = signer.sign("alice")
    flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert signer.verify(flipped) is None


def test_hs256_checks_signature_expiry_and_audience() -> None:
    """HS256: good → sub; other secret, expired, no exp → 401; wrong audience or issuer → 403."""
    verifier = JwtVerifier(secret=SECRET, audience="agentstream", issuer="me")
    assert verifier.subject(token(iss="me")) == "alice"
    for bad in (
        token(key="t" * 40, iss="me"),
        token(exp=int(time.time()) - 10, iss="me"),
        token(exp=None, iss="me"),
        "not.a.jwt",
    ):
        with pytest.raises(Unauthenticated):
            verifier.subject(bad)
    for foreign in (token(aud="someone-else", iss="me"), token(iss="them")):
        with pytest.raises(Forbidden):
            verifier.subject(foreign)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_asymmetric_tokens_verify_from_a_jwks_file(tmp_path: Path, alg: str) -> None:
    """RS256 and ES256 tokens verify with the public key from a JWKS file; alg none never does."""
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    algo = jwt.get_algorithm_by_name(alg)
    public = json.loads(algo.to_jwk(private.public_key()))  # type: ignore[attr-defined]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public | {"kid": "k1"}]}))
    verifier = JwtVerifier(jwks=str(tmp_path / "jwks.json"), audience="agentstream")
    assert verifier.subject(token("bob", key=private, alg=alg)) == "bob"
    other = ec.generate_private_key(ec.SECP256R1())
    for bad in (
        token("bob", key=other, alg="ES256"),
        token("bob", key=SECRET, alg="HS256"),  # alg confusion with a shared secret
        jwt.encode({"sub": "bob", "exp": int(time.time()) + 60}, None, "none"),
    ):
        with pytest.raises(Unauthenticated):
            verifier.subject(bad)


async def test_the_secret_is_made_once_in_the_data_folder_with_mode_0600(tmp_path: Path) -> None:
    """Without a configured secret, a SQLite store's folder keeps secret.key (0600), reused."""
    settings = Settings(store=f"sqlite://{tmp_path}/x.db", secret=None)
    first = await signing_secret(settings, None)
    again = await signing_secret(settings, None)
    assert first == again and len(first) == 32
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600


async def test_a_configured_secret_wins_and_a_shared_store_secret_comes_next() -> None:
    """AGENTSTREAM_SECRET is used as is; else a store's (async) shared_secret(); else random."""

    class Shared:
        async def shared_secret(self) -> bytes:
            return b"cluster-wide"

    assert await signing_secret(Settings(secret="mine"), Shared()) == b"mine"
    assert await signing_secret(Settings(secret=None, store="none"), Shared()) == b"cluster-wide"
    memory = Settings(secret=None, store="sqlite://:memory:")
    assert await signing_secret(memory, None) != await signing_secret(memory, None)
    two = [await build_auth(Settings(secret=None, store="none"), Shared()) for _ in range(2)]
    assert two[1].cookies.verify(two[0].cookies.sign("n")) == "n"  # two nodes, one secret


# -- a live server with authentication on ------------------------------------------------------


@pytest.fixture
def jwt_live() -> Iterator[LiveServer]:
    settings = Settings(
        model="scripted",
        store="none",
        auth="jwt",
        jwt_secret=SECRET,
        jwt_audience="agentstream",
    )
    with serve(echo_app(), settings) as server:
        yield server


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer forged"}, 401),
        ({"Authorization": f"Bearer {token(exp=int(time.time()) - 5)}"}, 401),
        ({"Authorization": f"Bearer {token(aud='elsewhere')}"}, 403),
    ],
    ids=["none", "bad", "expired", "wrong-audience"],
)
async def test_a_refused_token_is_refused_before_the_upgrade(
    jwt_live: LiveServer, headers: dict[str, str], status: int
) -> None:
    """No, bad or expired token → HTTP 401 on the upgrade; another audience's → 403; also /api."""
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(jwt_live.ws, additional_headers=headers):
            pass
    assert caught.value.response.status_code == status
    body = json.loads(caught.value.response.body or b"{}")
    assert body["code"] == ("unauthenticated" if status == 401 else "forbidden")
    async with httpx.AsyncClient(base_url=jwt_live.http) as client:
        answer = await client.post(
            "/api/invoke", json={"action": "echo", "text": "x"}, headers=headers
        )
    assert answer.status_code == status and "set-cookie" not in answer.headers


async def test_a_valid_token_connects_and_its_runs_belong_to_its_subject(
    jwt_live: LiveServer,
) -> None:
    """A token in the subprotocol connects (bearer marker echoed); the run's user is its sub."""
    offered = [BEARER_SUBPROTOCOL, token("carol")]
    async with websockets.connect(jwt_live.ws, subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == BEARER_SUBPROTOCOL
        await ws.send(json.dumps({"action": "echo", "text": "hi"}))
        frames = await recv_run(ws)
    assert frames[-1]["content"]["user"] == "carol"
    run = jwt_live.asgi.state.gateway.runs.get(frames[-1]["runId"], "carol")
    assert run is not None and jwt_live.asgi.state.gateway.runs.get(run.id, "dave") is None
    async with websockets.connect(f"{jwt_live.ws}?token={token('dave')}") as ws:
        await ws.send(json.dumps({"action": "echo", "text": "q"}))
        assert (await recv_run(ws))[-1]["content"]["user"] == "dave"


async def test_a_token_never_reaches_a_log_line(
    jwt_live: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """?token= in the socket URL and on HTTP shows up as token=*** in every captured log line."""
    secret_token = token("erin")
    for name in ("uvicorn.error", "uvicorn.access", "agentstream"):
        caplog.set_level(logging.DEBUG, name)
    async with websockets.connect(f"{jwt_live.ws}?token={secret_token}") as ws:
        await ws.send(json.dumps({"action": "echo", "text": "hi"}))
        await recv_run(ws)
    async with httpx.AsyncClient(base_url=jwt_live.http) as client:
        await client.get(f"/healthz?token={secret_token}")
        await client.get("/healthz", headers={"Authorization": f"Bearer {secret_token}"})
    with pytest.raises(InvalidStatus):
        async with websockets.connect(f"{jwt_live.ws}?token={secret_token}x"):
            pass
    server = ("uvicorn", "agentstream")  # the client's own debug lines are not the server's
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server))
    assert "WebSocket /ws?token=***" in text  # uvicorn's own line, redacted
    assert secret_token.split(".")[2] not in text and secret_token not in text


def test_asymmetric_tokens_verify_from_a_jwks_url(tmp_path: Path) -> None:
    """A JWKS served over HTTP (a local server, PyJWKClient) verifies an ES256 token by kid."""
    import functools
    import http.server
    import threading

    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.get_algorithm_by_name("ES256").to_jwk(private.public_key()))  # type: ignore[attr-defined]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public | {"kid": "k1"}]}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        verifier = JwtVerifier(jwks=url, audience="agentstream")
        assert verifier.subject(token("ana", key=private, alg="ES256")) == "ana"
        with pytest.raises(Unauthenticated):
            verifier.subject(token("ana", key=SECRET, alg="HS256"))
    finally:
        server.shutdown()
        server.server_close()
