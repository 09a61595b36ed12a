"""The ready-made handler builds the app AGENTSTREAM_APP names, once per container."""

from __future__ import annotations

import pytest

from agentstream.aws import handler as module


def test_the_adapter_serves_the_named_app_and_is_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AGENTSTREAM_APP=titles builds the titles app; a second call reuses the adapter."""
    monkeypatch.setattr(module, "_adapter", None)
    monkeypatch.setenv("AGENTSTREAM_APP", "titles")
    monkeypatch.setenv("AGENTSTREAM_LAUNCH", "thread")
    first = module.adapter()
    assert first.app.name == "titles" and module.adapter() is first
