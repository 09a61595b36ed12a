"""API keys: made once, stored as SHA-256 only, checked, listed and revoked (also live)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from agentstream.gateway.apikeys import KeyRing, digest
from agentstream.gateway.identity import Unauthenticated
from agentstream.gateway.settings import Settings
from tests.conftest import recv_run, serve
from tests.gateway.test_http import echo_app


def test_a_key_is_shown_once_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    """add() returns a fresh key; the 0600 file holds its SHA-256 and never the key itself."""
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.add("ci-bot")
    text = (tmp_path / "keys.json").read_text()
    assert key.startswith("ask_") and len(key) > 40 and key not in text
    assert json.loads(text)["ci-bot"]["sha256"] == digest(key)
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert ring.subject(key) == "ci-bot"
    assert [name for name, _ in ring.names()] == ["ci-bot"]


def test_unknown_and_revoked_keys_are_refused(tmp_path: Path) -> None:
    """A guessed key is Unauthenticated; after revoke() the real one is too, on the same ring."""
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.add("ci-bot")
    with pytest.raises(Unauthenticated):
        ring.subject(key[:-1] + ("a" if key[-1] != "a" else "b"))
    assert ring.revoke("ci-bot") and not ring.revoke("ci-bot")
    with pytest.raises(Unauthenticated):
        ring.subject(key)


def test_a_name_is_one_key_and_must_be_a_user_id(tmp_path: Path) -> None:
    """A second key for a name, or a name with a newline, is refused."""
    ring = KeyRing(tmp_path / "keys.json")
    ring.add("ci-bot")
    with pytest.raises(ValueError, match="exists"):
        ring.add("ci-bot")
    with pytest.raises(ValueError):
        ring.add("ci\nbot")


async def test_a_live_server_takes_a_key_and_drops_it_once_revoked(tmp_path: Path) -> None:
    """auth=apikey: the key connects as its name; revoked in the file, it is 401 at once."""
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.add("robot")
    settings = Settings(
        model="scripted", store="none", auth="apikey", api_keys_file=str(tmp_path / "keys.json")
    )
    with serve(echo_app(), settings) as live:
        headers = {"Authorization": f"Bearer {key}"}
        async with websockets.connect(live.ws, additional_headers=headers) as ws:
            await ws.send(json.dumps({"action": "echo", "text": "hi"}))
            assert (await recv_run(ws))[-1]["content"]["user"] == "robot"
        ring.revoke("robot")
        with pytest.raises(InvalidStatus) as caught:
            async with websockets.connect(live.ws, additional_headers=headers):
                pass
    assert caught.value.response.status_code == 401
