"""The canonical events: stamping fills the envelope, and only RunFinished/RunError end a run."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from agentstream.protocol.events import (
    EVENT_TYPES,
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    TextMessageChunk,
    _quick_init,
    is_terminal,
    stamp,
)
from tests.protocol.test_codec import SAMPLES


def test_stamp_fills_the_envelope_of_a_fresh_event_in_place() -> None:
    """An unstamped event is stamped in place (the per-token path makes no copy)."""
    event = TextMessageChunk(delta="a")
    stamped = stamp(event, run_id="run_1", seq=1, ts=2.5)
    assert stamped is event
    assert (event.run_id, event.seq, event.ts) == ("run_1", 1, 2.5)


def test_stamp_copies_an_event_that_already_has_a_seq() -> None:
    """Re-stamping a published event copies it, so a log entry never changes."""
    logged = stamp(TextMessageChunk(delta="a"), run_id="run_1", seq=4, ts=1.0)
    again = stamp(logged, run_id="run_2", seq=9, ts=3.0)
    assert again is not logged
    assert (logged.run_id, logged.seq, logged.ts) == ("run_1", 4, 1.0)
    assert (again.run_id, again.seq, again.ts) == ("run_2", 9, 3.0)
    assert again.delta == "a"  # type: ignore[attr-defined]


def test_events_are_frozen_to_ordinary_code() -> None:
    """Only ``stamp`` sets the envelope; assigning a field raises."""
    event = TextMessageChunk(delta="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.delta = "b"  # type: ignore[misc]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_only_run_finished_and_run_error_are_terminal(event: Event) -> None:
    """``is_terminal`` is true exactly for RUN_FINISHED and RUN_ERROR."""
    assert is_terminal(event) == (event.type in {"RUN_FINISHED", "RUN_ERROR"})


def test_terminal_events_are_terminal_whatever_their_payload() -> None:
    """A cancelled run's RunError and an empty RunFinished both end the run."""
    assert is_terminal(RunError(message="cancelled", code="cancelled"))
    assert is_terminal(RunFinished())
    assert not is_terminal(Custom(name="status", value="complete"))
    assert not is_terminal(RunStarted())


def test_event_types_name_every_event_class_by_its_wire_type() -> None:
    """EVENT_TYPES maps each wire ``type`` to its class, one entry per sample event kind."""
    assert {e.type for e in SAMPLES} == set(EVENT_TYPES)
    for name, cls in EVENT_TYPES.items():
        assert cls.type == name


@pytest.mark.parametrize("cls", [Event, *EVENT_TYPES.values()], ids=lambda c: c.__name__)
def test_each_event_takes_its_fields_as_keywords_with_their_defaults(cls: type[Event]) -> None:
    """The quick ``__init__`` asks for the dataclass's init fields, keyword-only, same defaults."""
    params = inspect.signature(cls).parameters
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert list(params) == [f.name for f in fields]
    for f in fields:
        assert params[f.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[f.name].default == (
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        )


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_an_event_rebuilt_from_its_fields_equals_it(event: Event) -> None:
    """Every field lands in its own slot, and the frame cache starts empty."""
    values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.init}
    again = type(event)(**values)
    assert again == event
    assert again.frames is None
    assert dataclasses.replace(event, seq=event.seq + 1).seq == event.seq + 1


def test_an_event_refuses_a_missing_or_unknown_field() -> None:
    """Arguments are checked as a dataclass checks them."""
    with pytest.raises(TypeError, match="delta"):
        TextMessageChunk()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="bogus"):
        TextMessageChunk(delta="a", bogus=1)  # type: ignore[call-arg]


def test_an_event_field_with_a_default_factory_is_refused() -> None:
    """The quick ``__init__`` knows plain defaults only: such an event fails where it is made."""

    @dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
    class Listing(Event):
        items: list[str] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="plain default"):
        _quick_init(Listing)
