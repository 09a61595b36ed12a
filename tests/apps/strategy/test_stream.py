"""Parsed answers become chat text, valid strategy parts and a snapshot; bad ones keep the last."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch

from agentstream.apps.strategy.scripted import build_strategy, scripted_answer
from agentstream.apps.strategy.stream import StrategyStream
from agentstream.protocol.events import Custom, Event, StateDelta, StateSnapshot, TextMessageChunk

GOOD = build_strategy("I have $5000 and want a conservative 3% a month", None)


def play(
    answer: str, last_good: dict[str, Any] | None = None
) -> tuple[StrategyStream, list[Event]]:
    stream = StrategyStream(last_good, message_id="m1")
    events: list[Event] = []
    for i in range(0, len(answer), 7):
        events.extend(stream.feed(answer[i : i + 7]))
    return stream, [*events, *stream.finish()]


SCRIPTED_OPS = [
    ("add", "/account"),
    ("add", "/flowchart"),
    ("add", "/flowchart/nodes/1"),
    ("add", "/flowchart/nodes/2"),
    ("add", "/flowchart/nodes/3"),
    ("add", "/flowchart/edges"),
    ("add", "/flowchart/edges/1"),
    ("add", "/flowchart/edges/2"),
    ("replace", "/flowchart"),
    ("add", "/degen_class"),
    ("add", "/strategy_metrics"),
    ("add", "/guardrails"),
    ("add", "/guardrails/enabled/1"),
    ("replace", "/guardrails"),
]
"""The deltas of the scripted answer: list parts item by item, then each validated part."""


def test_valid_answer_streams_text_then_each_item_and_part_then_the_snapshot() -> None:
    """Text chunks, a StateDelta per list item and per validated part, then the snapshot."""
    stream, events = play(scripted_answer("I have $5000 and want a conservative 3% a month", None))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "TextMessageChunk" and kinds[-1] == "StateSnapshot"
    deltas = [e for e in events if isinstance(e, StateDelta)]
    assert all(len(d.delta) == 1 for d in deltas)
    assert [(d.delta[0]["op"], d.delta[0]["path"]) for d in deltas] == SCRIPTED_OPS
    assert deltas[1].delta[0]["value"] == {"nodes": [GOOD["flowchart"]["nodes"][0]]}
    assert events[-1] == StateSnapshot(snapshot=GOOD)
    assert stream.result() == {"user_message": stream.user_message, "strategy_json": GOOD}
    assert all(e.message_id == "m1" for e in events if isinstance(e, TextMessageChunk))


def test_malformed_json_is_an_error_and_the_last_good_strategy_is_kept() -> None:
    """Broken JSON yields strategy_error and the snapshot is the previous strategy."""
    stream, events = play(
        '<user_message>Tweaked it.</user_message><backend>{"flowchart": {"nodes": [}</backend>',
        last_good=GOOD,
    )
    errors = [e for e in events if isinstance(e, Custom)]
    assert [e.name for e in errors] == ["strategy_error"]
    assert errors[0].value["code"] == "invalid_json"
    assert events[-1] == StateSnapshot(snapshot=GOOD)
    assert stream.result()["strategy_json"] == GOOD
    assert stream.result()["user_message"] == "Tweaked it."
    assert "not valid JSON" in stream.result()["error"]


def test_invalid_part_is_reported_once_and_not_applied() -> None:
    """A part failing validation is named, never sent as state, and the old strategy stays."""
    bad = {**GOOD, "degen_class": {"selected": "Extreme"}}
    answer = f"<user_message>Hi</user_message><backend>{json.dumps(bad)}</backend>"
    stream, events = play(answer, last_good=None)
    errors = [e.value for e in events if isinstance(e, Custom)]
    assert len(errors) == 1 and errors[0]["section"] == "degen_class"
    assert "degen_class.selected" in errors[0]["message"]
    paths = [e.delta[0]["path"] for e in events if isinstance(e, StateDelta)]
    assert "/degen_class" not in paths and "/flowchart" in paths
    assert events[-1] == StateSnapshot(snapshot=None)


def test_missing_backend_keeps_the_last_strategy() -> None:
    """An answer without <backend> reports it and keeps the previous strategy."""
    stream, events = play("Sure, happy to help!", last_good=GOOD)
    assert [e.value["code"] for e in events if isinstance(e, Custom)] == ["missing"]
    assert stream.result()["user_message"] == "Sure, happy to help!"
    assert stream.result()["strategy_json"] == GOOD


def test_deltas_applied_in_order_rebuild_the_strategy_at_any_split() -> None:
    """For every two-chunk split, the patches applied in order give the validated strategy."""
    answer = scripted_answer("I have $5000 and want a conservative 3% a month", None)
    for cut in range(0, len(answer) + 1, 3):
        stream = StrategyStream(None)
        events = [*stream.feed(answer[:cut]), *stream.feed(answer[cut:]), *stream.finish()]
        state: dict[str, Any] = {}
        for event in events:
            if isinstance(event, StateDelta):
                state = jsonpatch.apply_patch(state, event.delta)
        assert state == GOOD == stream.result()["strategy_json"], cut


def test_a_node_list_cut_short_keeps_its_items_and_reports_the_json() -> None:
    """An answer cut inside the flowchart shows the nodes written so far, then an error."""
    answer = scripted_answer("I have $5000 and want a conservative 3% a month", None)
    cut = answer.index('"id": "n3"')
    stream, events = play(answer[:cut], last_good=None)
    deltas = [e.delta[0] for e in events if isinstance(e, StateDelta)]
    assert [d["path"] for d in deltas] == ["/account", "/flowchart", "/flowchart/nodes/1"]
    assert [e.value["code"] for e in events if isinstance(e, Custom)] == ["unclosed"]
    assert events[-1] == StateSnapshot(snapshot=None)


def test_items_of_an_unknown_part_are_not_state() -> None:
    """A member the strategy does not have never becomes a delta, item by item or whole."""
    answer = '<user_message>Hi</user_message><backend>{"notes": {"list": [{"a": 1}]}}</backend>'
    _, events = play(answer)
    assert not [e for e in events if isinstance(e, StateDelta)]
