"""``calls_of``: one call store per framework store, by backend; unknown backends refused."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from agentstream.apps.calledit.records import calls_of
from agentstream.apps.calledit.records.dynamodb import DynamoDBCalls
from agentstream.apps.calledit.records.sqlite import SQLiteCalls
from agentstream.stores import StoreError, open_store


async def test_calls_of_refuses_a_backend_it_does_not_know() -> None:
    """A store that is neither SQLite nor DynamoDB gets a StoreError naming its type."""

    class Elsewhere:
        pass

    with pytest.raises(StoreError, match="Elsewhere"):
        calls_of(Elsewhere())  # type: ignore[arg-type]


def test_a_sqlite_store_keeps_its_calls_in_sqlite(tmp_path: Path) -> None:
    """A SQLite store gets SQLite calls on the same store object (same file and writer)."""
    store = open_store(f"sqlite://{tmp_path / 'a.db'}")
    calls = calls_of(store)
    assert isinstance(calls, SQLiteCalls) and calls.store is store


def test_a_dynamodb_store_keeps_its_calls_in_dynamodb() -> None:
    """A DynamoDB store gets DynamoDB calls on the same client and table prefix."""
    store = open_store("dynamodb://?endpoint=http://127.0.0.1:1&prefix=p_")
    calls = calls_of(store)
    assert isinstance(calls, DynamoDBCalls) and calls.store is store


def test_the_same_store_always_gets_the_same_call_store(tmp_path: Path) -> None:
    """``calls_of`` caches per store (the schema check runs once); two stores get two."""
    first = open_store(f"sqlite://{tmp_path / 'a.db'}")
    second = open_store(f"sqlite://{tmp_path / 'b.db'}")
    assert calls_of(first) is calls_of(first)
    assert calls_of(first) is not calls_of(second)


def test_the_call_store_lives_no_longer_than_its_store() -> None:
    """Dropping the last reference to a store frees it and its call store (no cache leak)."""
    store = open_store("sqlite://:memory:")
    calls_of(store)
    gone = weakref.ref(store)
    del store
    gc.collect()
    assert gone() is None
