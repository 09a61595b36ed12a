"""The call store's shared steps that the contract suite cannot reach: schema set-up and cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.apps.calledit.records import calls_of
from agentstream.apps.calledit.records.sqlite import SQLiteCalls
from agentstream.stores import StoreError, open_store


async def test_a_failed_schema_set_up_is_retried_on_the_next_call(tmp_path: Path) -> None:
    """When creating the call tables fails (store closed), the next call tries again and works."""
    store = open_store(f"sqlite://{tmp_path / 'a.db'}")
    calls = calls_of(store)
    with pytest.raises(StoreError, match="not open"):
        await calls.list_calls("u1")
    async with store:
        assert await calls.list_calls("u1") == ([], None)


async def test_the_page_limit_is_the_stores(tmp_path: Path) -> None:
    """The call store pages within the framework store's max_page, and keeps 32 KiB records."""
    async with open_store(f"sqlite://{tmp_path / 'a.db'}") as store:
        calls = calls_of(store)
        assert isinstance(calls, SQLiteCalls)
        assert (calls.max_page, calls.max_call_bytes) == (store.limits.max_page, 32 * 1024)
