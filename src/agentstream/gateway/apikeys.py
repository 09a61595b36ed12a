"""API keys, stored hashed: ``agentstream keys add NAME`` prints a key once and keeps its SHA-256.

A key is ``ask_`` + 43 URL-safe characters (256 random bits), so a plain SHA-256 is enough: a
stolen file of hashes cannot be reversed by guessing, and lookup by hash leaks nothing useful.
The file (``api-keys.json``, mode 0600, next to the data) maps each key's name to its hash;
the name is the user id the key proves. The file is re-read when it changes, so a revoked key
stops working on a running server at its next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from agentstream.gateway.identity import Unauthenticated, checked_user

PREFIX = "ask_"


def digest(key: str) -> str:
    """The stored form of ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """The API keys in one file: add, list, revoke, and check a presented key."""

    def __init__(self, path: Path) -> None:
        """Keep keys in ``path`` (made on the first :meth:`add`)."""
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._by_hash: dict[str, str] = {}

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.replace(tmp, self.path)

    def add(self, name: str) -> str:
        """Make a key for ``name`` and return it (the only time it is shown).

        Raises:
            ValueError: ``name`` already has a key, or cannot be a user id.
        """
        checked_user(name)
        data = self._read()
        if name in data:
            raise ValueError(f"a key named {name!r} exists; revoke it first")
        key = PREFIX + secrets.token_urlsafe(32)
        data[name] = {"sha256": digest(key), "created": int(time.time())}
        self._write(data)
        return key

    def names(self) -> list[tuple[str, int]]:
        """Each key's name and creation time (seconds since the epoch)."""
        return sorted((name, int(row.get("created", 0))) for name, row in self._read().items())

    def revoke(self, name: str) -> bool:
        """Forget ``name``'s key; False when there was none."""
        data = self._read()
        if data.pop(name, None) is None:
            return False
        self._write(data)
        return True

    def _index(self) -> dict[str, str]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        # Each write replaces the file (a new inode), so a change shows even within one tick.
        seen = (info.st_ino, info.st_mtime_ns, info.st_size)
        if seen != self._seen:
            self._by_hash = {row["sha256"]: name for name, row in self._read().items()}
            self._seen = seen
        return self._by_hash

    def subject(self, token: str) -> str:
        """The name of the key ``token`` is.

        Raises:
            Unauthenticated: no such key (never existed, or revoked).
        """
        name = self._index().get(digest(token))
        if name is None:
            raise Unauthenticated("unknown API key")
        return name
