"""The server's garbage-collector settings: applied once, never over someone else's."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from agentstream.gateway import tuning


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    threshold = gc.get_threshold()
    monkeypatch.setattr(tuning, "_tuned", False)
    monkeypatch.delenv("AGENTSTREAM_GC_TUNING", raising=False)
    yield
    gc.set_threshold(*threshold)


def test_default_thresholds_are_raised_once(fresh: None) -> None:
    """From the interpreter's defaults, the first call raises them; a second call does nothing."""
    gc.set_threshold(*tuning.DEFAULT_THRESHOLD)
    assert tuning.tune_gc() is True
    assert gc.get_threshold() == tuning.SERVER_THRESHOLD
    gc.set_threshold(*tuning.DEFAULT_THRESHOLD)
    assert tuning.tune_gc() is False
    assert gc.get_threshold() == tuning.DEFAULT_THRESHOLD


def test_thresholds_someone_chose_are_kept(fresh: None) -> None:
    """Thresholds already changed from the defaults stay as they were."""
    gc.set_threshold(1234, 5, 6)
    tuning.tune_gc()
    assert gc.get_threshold() == (1234, 5, 6)


def test_the_environment_can_turn_it_off(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENTSTREAM_GC_TUNING=0 leaves the collector untouched."""
    monkeypatch.setenv("AGENTSTREAM_GC_TUNING", "0")
    gc.set_threshold(*tuning.DEFAULT_THRESHOLD)
    assert tuning.tune_gc() is False
    assert gc.get_threshold() == tuning.DEFAULT_THRESHOLD
