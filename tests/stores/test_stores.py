"""Opening a store from a URL: the default file, sqlite://, dynamodb://, redis://; clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentstream.stores import InvalidRecord, default_path, open_store
from agentstream.stores.dynamodb import DynamoDBStore
from agentstream.stores.redis import RedisStore
from agentstream.stores.sqlite import SQLiteStore


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default file is under $AGENTSTREAM_DATA, else $XDG_DATA_HOME/agentstream."""
    monkeypatch.setenv("AGENTSTREAM_DATA", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "agentstream.db"
    monkeypatch.delenv("AGENTSTREAM_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "agentstream" / "agentstream.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "share" / "agentstream" / "agentstream.db"


def test_open_store_default_and_bad_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No URL means the default SQLite file; malformed URLs fail naming the option."""
    monkeypatch.delenv("AGENTSTREAM_STORE", raising=False)
    monkeypatch.setenv("AGENTSTREAM_DATA", str(tmp_path))
    store = open_store(None)
    assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "agentstream.db")
    with pytest.raises(InvalidRecord, match="store.bogus"):
        open_store(f"sqlite://{tmp_path}/a.db?bogus=1")
    with pytest.raises(InvalidRecord, match="store: unknown store"):
        open_store("postgres://x")
    with pytest.raises(InvalidRecord, match="synchronous"):
        open_store(f"sqlite://{tmp_path}/a.db?synchronous=sometimes")


def sqlite_store(url: str) -> SQLiteStore:
    store = open_store(url)
    assert isinstance(store, SQLiteStore)
    return store


def test_an_absolute_sqlite_url_names_the_file(tmp_path: Path) -> None:
    """sqlite:///abs/path opens that file, with FULL sync and a 5 s busy timeout by default."""
    store = sqlite_store(f"sqlite://{tmp_path}/a.db")
    assert store.path == f"{tmp_path}/a.db"
    assert (store.synchronous, store.busy_timeout_ms) == ("FULL", 5000)


def test_the_memory_url_is_an_in_memory_database() -> None:
    """sqlite://:memory: is SQLite's in-memory database, not a file called ':memory:'."""
    assert sqlite_store("sqlite://:memory:").path == ":memory:"


def test_sqlite_query_options_are_parsed_to_their_types(tmp_path: Path) -> None:
    """``synchronous`` and ``busy_timeout_ms`` come from the query, the timeout as an int."""
    store = sqlite_store(f"sqlite://{tmp_path}/a.db?synchronous=normal&busy_timeout_ms=250")
    assert (store.synchronous, store.busy_timeout_ms) == ("NORMAL", 250)


def test_the_last_of_a_repeated_option_wins(tmp_path: Path) -> None:
    """An option given twice takes its last value."""
    store = sqlite_store(f"sqlite://{tmp_path}/a.db?busy_timeout_ms=1&busy_timeout_ms=2")
    assert store.busy_timeout_ms == 2


def test_keyword_arguments_override_the_url(tmp_path: Path) -> None:
    """A keyword passed to open_store beats the same option in the URL."""
    store = open_store(f"sqlite://{tmp_path}/a.db?busy_timeout_ms=1", busy_timeout_ms=9)
    assert isinstance(store, SQLiteStore) and store.busy_timeout_ms == 9


def test_the_environment_names_the_store_when_no_url_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no URL, AGENTSTREAM_STORE is used before the default file."""
    monkeypatch.setenv("AGENTSTREAM_STORE", f"sqlite://{tmp_path}/env.db")
    monkeypatch.setenv("AGENTSTREAM_DATA", str(tmp_path / "data"))
    assert sqlite_store("").path == f"{tmp_path}/env.db"


@pytest.mark.parametrize(
    "url",
    ["sqlite://relative/a.db", "sqlite://", "sqlite://host/abs/a.db"],
)
def test_a_sqlite_url_without_an_absolute_path_is_refused(url: str) -> None:
    """A relative, empty or host-qualified sqlite URL fails, showing the expected form."""
    with pytest.raises(InvalidRecord, match="expected sqlite:///absolute/path"):
        open_store(url)


@pytest.mark.parametrize("url", ["postgres://x", "memcached://localhost:11211", "file:///tmp/a.db"])
def test_an_unknown_scheme_is_refused_naming_the_known_ones(url: str) -> None:
    """Only sqlite://, dynamodb:// and redis:// are known; the error says so and repeats the URL."""
    with pytest.raises(
        InvalidRecord, match="expected sqlite://, dynamodb:// or redis://"
    ) as caught:
        open_store(url)
    assert url in str(caught.value)


def test_an_unknown_option_lists_the_known_ones(tmp_path: Path) -> None:
    """A misspelt option names itself and the options the backend knows."""
    with pytest.raises(InvalidRecord, match=r"store\.sync.*busy_timeout_ms.*synchronous"):
        open_store(f"sqlite://{tmp_path}/a.db?sync=full")


@pytest.mark.parametrize(
    ("query", "create"),
    [("create=1", True), ("create=TRUE", True), ("create=yes", True), ("create=0", False)],
)
def test_dynamodb_create_accepts_the_usual_yes_words(query: str, create: bool) -> None:
    """``create`` is true for 1/true/yes in any case, false otherwise."""
    store = open_store(f"dynamodb://?endpoint=http://h:1&prefix=p_&{query}")
    assert isinstance(store, DynamoDBStore) and store.create is create


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_a_redis_url_keeps_host_and_db_and_reads_its_options(scheme: str) -> None:
    """redis:// and rediss:// name server and db; the query sets prefix, timeout, node, lease."""
    store = open_store(f"{scheme}://:pw@h:7000/3?prefix=x:&timeout=2&node=n1&lease=4")
    assert isinstance(store, RedisStore)
    assert store.url == f"{scheme}://:pw@h:7000/3"
    assert (store.prefix, store.timeout, store.node, store.lease) == ("x:", 2.0, "n1", 4.0)


def test_importing_stores_loads_no_backend() -> None:
    """``import agentstream.stores`` pulls in neither boto3 nor the SQLite backend."""
    code = (
        "import sys, agentstream.stores; "
        "print(sorted(m for m in ('boto3', 'agentstream.stores.sqlite', "
        "'agentstream.stores.dynamodb', 'redis') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
