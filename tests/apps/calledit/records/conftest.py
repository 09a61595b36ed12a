"""Fixtures for the call store tests: each backend's store (as in tests/stores) and its calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentstream.apps.calledit.records import CallStore, calls_of
from agentstream.stores import Store, open_store
from tests.stores.conftest import FakeClock, store_url


@pytest.fixture(params=["sqlite", "dynamodb", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Store]:
    """An opened store of each backend, on a fresh file or table prefix, with a fake clock."""
    async with open_store(store_url(request.param, request, tmp_path), clock=clock) as opened:
        yield opened


@pytest.fixture
def calls(store: Store) -> CallStore:
    """The calls kept on ``store``."""
    return calls_of(store)
