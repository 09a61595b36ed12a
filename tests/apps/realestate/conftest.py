"""The real-estate tests' shared server fixture and question."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentstream.apps import load_app
from agentstream.gateway.settings import Settings
from tests.conftest import LiveServer, serve

ZONING_Q = "What are the setback requirements for a house in a residential zone?"


@pytest.fixture
def realestate_server() -> Iterator[LiveServer]:
    """The orchestrator served with the scripted model."""
    with serve(load_app("realestate"), Settings(model="scripted")) as live:
        yield live
