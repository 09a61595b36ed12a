"""Identity on the command line: serve's auth choice, `agentstream keys`, and call's own cookie."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agentstream.cli_auth import (
    choose_auth,
    identities_file,
    is_loopback,
    save_cookie,
    saved_cookie,
)
from agentstream.gateway.apikeys import KeyRing
from agentstream.gateway.auth import CookieSigner
from tests.test_cli import agentstream


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only loopback addresses (and localhost) count as loopback; 0.0.0.0 does not."""
    assert is_loopback(host) is loopback


def test_auth_turns_on_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off on loopback, JWT beyond it when JWT is configured, else API keys; --auth wins."""
    monkeypatch.delenv("AGENTSTREAM_AUTH", raising=False)
    assert choose_auth("127.0.0.1", None, jwt_configured=True) == "off"
    assert choose_auth("0.0.0.0", None, jwt_configured=True) == "jwt"
    assert choose_auth("0.0.0.0", None, jwt_configured=False) == "apikey"
    assert choose_auth("0.0.0.0", "off", jwt_configured=False) == "off"
    assert choose_auth("127.0.0.1", "apikey", jwt_configured=False) == "apikey"


def test_keys_add_list_revoke_from_the_command_line(tmp_path: Path) -> None:
    """keys add prints a key once (the file keeps its hash); list names it; revoke removes it."""
    file = str(tmp_path / "keys.json")
    added = agentstream("keys", "add", "ci-bot", "--file", file)
    key = added.stdout.strip()
    assert added.returncode == 0 and key.startswith("ask_")
    assert key not in Path(file).read_text() and KeyRing(Path(file)).subject(key) == "ci-bot"
    listed = agentstream("keys", "list", "--file", file)
    assert listed.stdout.startswith("ci-bot\t") and key not in listed.stdout
    assert agentstream("keys", "revoke", "ci-bot", "--file", file).returncode == 0
    again = agentstream("keys", "revoke", "ci-bot", "--file", file)
    assert again.returncode == 2 and "ci-bot" in again.stderr


def test_the_cli_keeps_one_cookie_per_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Cookies are kept per host:port in a 0600 file under XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    save_cookie("ws://127.0.0.1:8000/ws", "one")
    save_cookie("ws://127.0.0.1:9000/ws?dialect=x", "two")
    assert saved_cookie("ws://127.0.0.1:8000/ws?coalesce=5") == "one"
    assert saved_cookie("ws://other:1/ws") is None
    assert stat.S_IMODE(identities_file().stat().st_mode) == 0o600


def test_call_url_reuses_its_identity_and_replaces_a_stale_one(tmp_path: Path) -> None:
    """Two calls to one server share the saved cookie; a cookie the server refuses is replaced."""
    from agentstream.apps import load_app
    from agentstream.gateway.settings import Settings
    from tests.conftest import serve

    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    path = tmp_path / "agentstream" / "identities.json"
    with serve(load_app("calledit"), Settings(model="scripted")) as live:
        key = f"127.0.0.1:{live.port}"
        first = agentstream("call", "It will snow in Oslo by Friday", "--url", live.ws, env=env)
        kept = json.loads(path.read_text())[key]
        second = agentstream("call", "It will rain in Oslo by Friday", "--url", live.ws, env=env)
        assert json.loads(path.read_text())[key] == kept
        path.write_text(json.dumps({key: CookieSigner(b"old" * 11).sign("cli")}))
        third = agentstream("call", "It will rain in Bergen by Friday", "--url", live.ws, env=env)
        signer = live.asgi.state.gateway.auth.cookies
        assert signer.verify(json.loads(path.read_text())[key]) is not None
    assert (first.returncode, second.returncode, third.returncode) == (0, 0, 0), third.stderr
    assert signer.verify(kept) is not None
