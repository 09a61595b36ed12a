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


def _middle_collections(n: int) -> None:
    """Run ``n`` middle-generation collections (each counts towards the next full one)."""
    for _ in range(n):
        gc.collect(1)


def test_an_idle_server_collects_the_whole_heap_once_enough_has_piled_up(fresh: None) -> None:
    """collect_if_idle runs a full collection after ``after`` middle ones, and not before."""
    gc.set_threshold(*tuning.DEFAULT_THRESHOLD)
    tuning.tune_gc()
    gc.collect()  # the count of middle collections starts at 0
    _middle_collections(2)
    assert tuning.collect_if_idle(after=3) is False
    _middle_collections(1)
    assert tuning.collect_if_idle(after=3) is True
    assert gc.get_count()[2] == 0  # a full collection resets it


def test_an_untuned_process_is_left_to_the_interpreter(fresh: None) -> None:
    """Without tune_gc (an app that manages the collector itself), nothing is collected."""
    _middle_collections(5)
    assert tuning.collect_if_idle(after=1) is False
