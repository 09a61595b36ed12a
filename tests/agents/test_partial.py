"""The partial structured result: snapshots and JSON Patch deltas from growing JSON text."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest

from agentstream.agents.partial import PartialState, diff
from agentstream.protocol.events import Event, StateDelta, StateSnapshot

RECORD = {
    "prediction_statement": "The S&P 500 will close above 6,000 points on 2025-03-31 — «sure».",
    "verification_date": "2025-03-31",
    "verification_method": {
        "source": ["S&P Dow Jones Indices daily close", "Wall Street Journal markets data"],
        "criteria": ["The S&P 500 official close on 2025-03-31 is at least 6000.00"],
        "steps": ["Open the index history", "Read the 2025-03-31 close", "Compare with 6000"],
    },
    "initial_status": "pending",
    "score": 12.5,
    "a/b~c": [1, 2, {"x": None}],
}
TEXT = json.dumps(RECORD, ensure_ascii=False)


def replay(events: list[Event]) -> list[Any]:
    """Every state a client holds after each event, applying deltas with jsonpatch."""
    states: list[Any] = []
    state: Any = None
    for event in events:
        if isinstance(event, StateSnapshot):
            state = copy.deepcopy(event.snapshot)
        elif isinstance(event, StateDelta):
            state = jsonpatch.apply_patch(state, event.delta)
        states.append(state)
    return states


def feed_in_pieces(text: str, cuts: list[int]) -> tuple[PartialState, list[Event]]:
    partial, events = PartialState(), []
    last = 0
    for cut in [*cuts, len(text)]:
        events += partial.append(text[last:cut])
        last = cut
    return partial, events


@pytest.mark.parametrize("cut", range(len(TEXT) + 1))
def test_same_final_state_for_a_split_at_every_boundary(cut: int) -> None:
    """Split anywhere in two, the text ends in the same state, and the patches reproduce it."""
    partial, events = feed_in_pieces(TEXT, [cut])
    assert partial.state == RECORD
    assert replay(events)[-1] == RECORD


def test_one_character_at_a_time_gives_a_snapshot_then_only_deltas() -> None:
    """Fed a character at a time: one snapshot first, then deltas, ending in the record."""
    partial, events = feed_in_pieces(TEXT, list(range(1, len(TEXT))))
    assert isinstance(events[0], StateSnapshot)
    assert all(isinstance(e, StateDelta) for e in events[1:])
    assert len(events) > 50
    assert replay(events)[-1] == RECORD


def test_patches_applied_in_order_reproduce_each_parsed_state() -> None:
    """After every event, the patched client state equals the parser's state at that moment."""
    partial = PartialState()
    client: Any = None
    for i in range(1, len(TEXT) + 1):
        for event in partial.feed(TEXT[:i]):
            if isinstance(event, StateSnapshot):
                client = copy.deepcopy(event.snapshot)
            elif isinstance(event, StateDelta):
                client = jsonpatch.apply_patch(client, event.delta)
        if partial.state is not None:
            assert client == partial.state


def test_ops_are_add_for_new_items_and_replace_with_the_whole_growing_string() -> None:
    """A new key or list item is an ``add``; a growing string is a ``replace`` of all of it."""
    partial = PartialState()
    assert partial.feed('{"a": "x') == [StateSnapshot(snapshot={"a": "x"})]
    assert partial.feed('{"a": "xyz", "b": ["') == [
        StateDelta(
            delta=[
                {"op": "replace", "path": "/a", "value": "xyz"},
                {"op": "add", "path": "/b", "value": [""]},
            ]
        )
    ]
    assert partial.feed('{"a": "xyz", "b": ["q", "r') == [
        StateDelta(
            delta=[
                {"op": "replace", "path": "/b/0", "value": "q"},
                {"op": "add", "path": "/b/1", "value": "r"},
            ]
        )
    ]


def test_nothing_before_the_first_field() -> None:
    """No event until the object has a field (an opening brace or a half key is not state)."""
    partial = PartialState()
    assert partial.feed("") == []
    assert partial.feed("{") == []
    assert partial.feed('{"predic') == []
    assert partial.state is None


def test_a_malformed_tail_does_not_crash_and_keeps_the_last_good_state() -> None:
    """Text that stops parsing yields no events and no error; the good state stays."""
    partial = PartialState()
    partial.feed('{"a": 1, "b": "two"')
    assert partial.feed('{"a": 1, "b": "two"}}}garbage') == []
    assert partial.feed('{"a": 1, "b": "two", ]') == []
    assert partial.feed("not json at all") == []
    assert partial.state == {"a": 1, "b": "two"}


def test_a_non_object_result_is_never_state() -> None:
    """A JSON list or string is not a record: no snapshot."""
    assert PartialState().feed('["a", "b"]') == []
    assert PartialState().feed('"text"') == []


def test_settle_aligns_the_state_with_the_validated_result() -> None:
    """The validated value wins: settle sends the delta that makes the client's copy equal it."""
    partial = PartialState()
    partial.feed('{"date": "2025-03-01", "statement": "by March"}')
    events = partial.settle({"date": "2025-03-31", "statement": "by March"})
    assert events == [StateDelta(delta=[{"op": "replace", "path": "/date", "value": "2025-03-31"}])]
    assert partial.settle({"date": "2025-03-31", "statement": "by March"}) == []


def test_settle_sends_nothing_when_no_state_was_sent() -> None:
    """Without partial state the final result alone describes the record."""
    assert PartialState().settle({"a": 1}) == []


def test_diff_removes_from_the_end_and_escapes_pointer_tokens() -> None:
    """Shrinking lists remove from the end; keys with '/' and '~' are escaped (RFC 6901)."""
    old = {"x/y": [1, 2, 3], "t~": 1}
    new = {"x/y": [1], "t~": 2}
    ops = diff(old, new)
    assert ops == [
        {"op": "remove", "path": "/x~1y/2"},
        {"op": "remove", "path": "/x~1y/1"},
        {"op": "replace", "path": "/t~0", "value": 2},
    ]
    assert jsonpatch.apply_patch(old, ops) == new


def test_diff_replaces_a_value_whose_type_changed() -> None:
    """1 and 1.0 (or True) are different JSON values: the change is sent."""
    assert diff({"a": 1}, {"a": True}) == [{"op": "replace", "path": "/a", "value": True}]
    assert diff({"a": {"b": 1}}, {"a": [1]}) == [{"op": "replace", "path": "/a", "value": [1]}]
