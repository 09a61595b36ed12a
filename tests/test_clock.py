"""The overridable clock: timezones, pinned timestamps, and its errors in the project's tree."""

from __future__ import annotations

import pytest

from agentstream import clock
from agentstream.errors import AgentstreamError, BadRequest


def test_a_naive_pin_is_read_in_the_asked_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENTSTREAM_NOW without an offset means that wall time in the timezone asked for."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    now = clock.now("America/New_York")
    assert (now.hour, now.utcoffset().total_seconds()) == (10, -5 * 3600)  # type: ignore[union-attr]


def test_an_aware_pin_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pin with an offset is the same instant, shown in the timezone asked for."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00+00:00")
    assert clock.now("Europe/Paris").hour == 11


def test_override_wins_over_the_environment_and_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """clock.override pins now inside the block only, over AGENTSTREAM_NOW."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    with clock.override("2030-06-01T08:00:00"):
        assert clock.now("UTC").year == 2030
    assert clock.now("UTC").year == 2025


def test_bad_timezone_is_a_bad_request_naming_it() -> None:
    """An unknown timezone raises BadTimezone: a BadRequest and a ValueError, code bad_timezone."""
    with pytest.raises(clock.BadTimezone, match="'Mars/Olympus'") as caught:
        clock.zone("Mars/Olympus")
    assert isinstance(caught.value, BadRequest) and isinstance(caught.value, ValueError)
    assert (caught.value.code, caught.value.http_status) == ("bad_timezone", 400)


def test_bad_timestamp_is_a_bad_request() -> None:
    """A pin that is not ISO 8601 raises BadTimestamp (bad_timestamp, 400), even in override."""
    with pytest.raises(clock.BadTimestamp, match="not an ISO 8601") as caught:
        clock.parse_timestamp("yesterday")
    assert isinstance(caught.value, AgentstreamError)
    assert (caught.value.code, caught.value.http_status) == ("bad_timestamp", 400)
    with pytest.raises(clock.BadTimestamp), clock.override("soon"):
        pass


@pytest.mark.parametrize("name", ["America", "x" * 300, "../../etc", "Europe/"])
def test_a_directory_or_overlong_timezone_is_a_bad_timezone(name: str) -> None:
    """Names the file system refuses (a directory, 300 chars) are BadTimezone, not OSError."""
    with pytest.raises(clock.BadTimezone):
        clock.zone(name)
