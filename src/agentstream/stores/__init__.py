"""Stores: where connections, run logs, chat messages and apps' records are kept.

Pick one with a URL (``--store``, or ``AGENTSTREAM_STORE``)::

    sqlite:///abs/path/agentstream.db[?synchronous=normal]   the default, under the data dir
    sqlite://:memory:                                         throwaway, one process
    dynamodb://?endpoint=http://127.0.0.1:PORT&prefix=test_&region=us-east-1[&create=1]
               [&connect_timeout=2&read_timeout=3&max_attempts=2]
    redis://[:password@]host:port/db[?prefix=agentstream:&timeout=5&node=ID&lease=15]
    rediss://...                                              the same over TLS

Importing this package pulls in neither boto3 nor any backend: they load when a URL asks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agentstream.stores.errors import (
    Conflict,
    InvalidRecord,
    LimitExceeded,
    NotFound,
    StoreError,
    StoreUnavailable,
)
from agentstream.stores.protocols import ConnectionStore, RunLogStore, Store, ThreadStore
from agentstream.stores.rows import ConnectionRow, Limits, RunRow, RunState

__all__ = [
    "Conflict",
    "ConnectionRow",
    "ConnectionStore",
    "InvalidRecord",
    "LimitExceeded",
    "Limits",
    "NotFound",
    "RunLogStore",
    "RunRow",
    "RunState",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "ThreadStore",
    "default_path",
    "open_store",
]

_SQLITE_PARAMS = {"synchronous": str, "busy_timeout_ms": int}
_DYNAMODB_PARAMS = {
    "endpoint": str,
    "prefix": str,
    "region": str,
    "create": lambda v: v.lower() in ("1", "true", "yes"),
    "connect_timeout": float,
    "read_timeout": float,
    "max_attempts": int,
}
_REDIS_PARAMS = {"prefix": str, "timeout": float, "node": str, "lease": float}


def default_path() -> Path:
    """The default SQLite file: ``$AGENTSTREAM_DATA``, else the XDG data dir, + agentstream.db."""
    base = os.environ.get("AGENTSTREAM_DATA")
    if not base:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        base = str(Path(xdg) / "agentstream")
    return Path(base).expanduser() / "agentstream.db"


def _params(query: str, allowed: dict[str, Any]) -> dict[str, Any]:
    """Read a URL query into keyword arguments, refusing unknown or malformed ones."""
    out: dict[str, Any] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in allowed:
            raise InvalidRecord(f"store.{name}", f"unknown option (known: {sorted(allowed)})")
        try:
            out[name] = allowed[name](values[-1])
        except ValueError as exc:
            raise InvalidRecord(f"store.{name}", f"bad value {values[-1]!r}") from exc
    return out


def open_store(url: str | None = None, **kwargs: Any) -> Store:
    """Build the store a URL names; open it with ``async with`` or ``await store.open()``.

    Args:
        url: A store URL (see the module docstring). None reads ``AGENTSTREAM_STORE``, else the
            default SQLite file (:func:`default_path`).
        **kwargs: Passed to the backend (``limits=``, ``clock=``), overriding the URL.

    Raises:
        InvalidRecord: The URL is malformed or names an unknown backend or option.
    """
    url = url or os.environ.get("AGENTSTREAM_STORE") or f"sqlite://{default_path()}"
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        from agentstream.stores.sqlite import SQLiteStore

        path = parts.netloc if parts.netloc == ":memory:" else parts.path
        if not path or (path != ":memory:" and parts.netloc):
            raise InvalidRecord("store", f"expected sqlite:///absolute/path, got {url!r}")
        return SQLiteStore(path, **(_params(parts.query, _SQLITE_PARAMS) | kwargs))
    if parts.scheme == "dynamodb":
        from agentstream.stores.dynamodb import DynamoDBStore

        return DynamoDBStore(**(_params(parts.query, _DYNAMODB_PARAMS) | kwargs))
    if parts.scheme in ("redis", "rediss"):
        from agentstream.stores.redis import RedisStore

        bare = parts._replace(query="").geturl()
        return RedisStore(bare, **(_params(parts.query, _REDIS_PARAMS) | kwargs))
    raise InvalidRecord(
        "store", f"unknown store {url!r} (expected sqlite://, dynamodb:// or redis://)"
    )
