"""The streaming tag parser: same answer whatever the chunking, clear errors when malformed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentstream.apps.strategy.parser import (
    AnswerParser,
    BackendDone,
    BackendInvalid,
    BackendPart,
    MessageDelta,
    MessageDone,
    ParseEvent,
    held_suffix,
    parse_answer,
)
from agentstream.apps.strategy.scripted import scripted_answer

STRATEGY = {
    "account": {"workspace": "Vibe Water Associates", "section": "My Strategies"},
    "flowchart": {
        "nodes": [
            {"id": "n1", "label": "Scan DeFi — “blue chips” {safe}"},
            {"id": "n2", "label": "Buy <limit> \\ 5% ✓"},
        ],
        "edges": [{"source": "n1", "target": "n2", "label": "ok, go"}],
    },
    "degen_class": {"selected": "Low"},
    "strategy_metrics": {
        "impact_monthly_return_delta_pct": 3.0,
        "estimated_capital_required_usd": 5000,
    },
    "guardrails": {"enabled": ["Stop-loss 2%", {"name": "Max size", "value": 25}]},
}
MESSAGE = "I've built a low-risk plan for your €5,000 — 3% a month. Stop-loss at 2% 🛡️."
ANSWER = (
    f"<user_message>\n  {MESSAGE}\n</user_message>\n\n"
    f"<backend>\n{json.dumps(STRATEGY, ensure_ascii=False, indent=2)}\n</backend>\n"
)


def run(chunks: list[Any]) -> list[ParseEvent]:
    parser = AnswerParser()
    events: list[ParseEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return [*events, *parser.finish()]


def summary(events: list[ParseEvent]) -> tuple[str, str, list[str], Any]:
    """(concatenated deltas, final message, part keys in order, backend outcome)."""
    deltas = "".join(e.text for e in events if isinstance(e, MessageDelta))
    (done,) = [e.text for e in events if isinstance(e, MessageDone)]
    parts = [e.key for e in events if isinstance(e, BackendPart)]
    (backend,) = [e for e in events if isinstance(e, BackendDone | BackendInvalid)]
    return deltas, done, parts, backend


EXPECTED = (MESSAGE, MESSAGE, list(STRATEGY), BackendDone(STRATEGY))


def test_whole_answer_parses_to_message_parts_and_object() -> None:
    """A whole answer yields the trimmed message, every part in order and the object."""
    assert summary(parse_answer(ANSWER)) == EXPECTED
    parts = {e.key: e.value for e in parse_answer(ANSWER) if isinstance(e, BackendPart)}
    assert parts == STRATEGY


def test_split_at_every_byte_boundary_gives_the_same_result() -> None:
    """Two chunks split at each byte offset (inside multi-byte characters too) agree."""
    data = ANSWER.encode()
    for cut in range(len(data) + 1):
        assert summary(run([data[:cut], data[cut:]])) == EXPECTED, cut


def test_one_byte_at_a_time_gives_the_same_result() -> None:
    """Feeding single bytes still yields the same message and JSON."""
    data = ANSWER.encode()
    assert summary(run([data[i : i + 1] for i in range(len(data))])) == EXPECTED


def test_split_at_every_character_boundary_gives_the_same_result() -> None:
    """Text chunks split at each character offset agree too."""
    for cut in range(len(ANSWER) + 1):
        assert summary(run([ANSWER[:cut], ANSWER[cut:]])) == EXPECTED, cut


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER.encode())), max_size=40))
def test_any_chunking_gives_the_same_result(cuts: list[int]) -> None:
    """Any set of byte cut points yields the same answer."""
    data = ANSWER.encode()
    points = [0, *sorted(cuts), len(data)]
    assert summary(run([data[a:b] for a, b in zip(points, points[1:], strict=False)])) == EXPECTED


def test_user_message_streams_as_soon_as_its_tag_is_open() -> None:
    """Text after <user_message> is emitted before the closing tag arrives."""
    parser = AnswerParser()
    assert parser.feed("<user_mes") == []
    assert parser.feed("sage>Hello the") == [MessageDelta("Hello the")]
    assert parser.feed("re </user_") == [MessageDelta("re")]
    assert parser.feed("message>") == [MessageDone("Hello there")]


def test_parts_are_emitted_as_soon_as_they_are_complete() -> None:
    """A container part is emitted at its closing bracket, a scalar at the next comma."""
    parser = AnswerParser()
    parser.feed('<user_message>x</user_message><backend>{"flowchart": {"nodes": [1]')
    assert parser.feed("}") == [BackendPart("flowchart", {"nodes": [1]})]
    assert parser.feed(', "n": 5') == []
    assert parser.feed(",") == [BackendPart("n", 5)]
    assert parser.feed('"s": "a,}"}') == [BackendPart("s", "a,}")]


def test_malformed_backend_is_an_error_naming_the_position() -> None:
    """Broken JSON inside <backend> yields BackendInvalid with the parser's reason."""
    events = parse_answer('<user_message>Hi</user_message><backend>{"a": [1, 2}</backend>')
    assert MessageDone("Hi") in events
    (invalid,) = [e for e in events if isinstance(e, BackendInvalid)]
    assert invalid.code == "invalid_json" and "line 1, column" in invalid.reason


def test_missing_backend_is_an_error() -> None:
    """An answer with no <backend> block says so."""
    (invalid,) = [
        e for e in parse_answer("<user_message>Hi</user_message>") if isinstance(e, BackendInvalid)
    ]
    assert invalid.code == "missing"


def test_unclosed_backend_with_complete_json_is_accepted() -> None:
    """A stream that ends before </backend> but after complete JSON still yields the object."""
    events = parse_answer('<user_message>Hi</user_message><backend>{"a": 1}\n</back')
    assert BackendDone({"a": 1}) in events


def test_unclosed_backend_with_cut_json_is_an_error() -> None:
    """A stream that ends inside the JSON yields an 'unclosed' error."""
    events = parse_answer('<user_message>Hi</user_message><backend>{"a": [1, ')
    assert [e.code for e in events if isinstance(e, BackendInvalid)] == ["unclosed"]


def test_non_object_backend_is_an_error() -> None:
    """A JSON array in <backend> is refused."""
    events = parse_answer("<user_message>Hi</user_message><backend>[1]</backend>")
    assert [e.code for e in events if isinstance(e, BackendInvalid)] == ["not_object"]


def test_code_fence_inside_backend_is_tolerated() -> None:
    """```json fences around the object are ignored."""
    events = parse_answer(
        '<user_message>Hi</user_message><backend>\n```json\n{"a": 1}\n```\n</backend>'
    )
    assert BackendDone({"a": 1}) in events and BackendPart("a", 1) in events


def test_untagged_answer_becomes_the_user_message() -> None:
    """With no tags at all, the text is the message and the backend is missing."""
    events = parse_answer("  Just some advice.\n")
    assert MessageDone("Just some advice.") in events
    assert [e.code for e in events if isinstance(e, BackendInvalid)] == ["missing"]


def test_held_suffix_is_the_longest_partial_tag() -> None:
    """Only a real prefix of the tag is held back."""
    assert held_suffix("abc </user_m", "</user_message>") == 8
    assert held_suffix("abc <", "</user_message>") == 1
    assert held_suffix("abc", "</user_message>") == 0


def test_scripted_answers_parse_cleanly() -> None:
    """The scripted model's answer yields its message and a complete object."""
    events = parse_answer(scripted_answer("I have $5000, conservative, 3% a month", None))
    assert any(isinstance(e, BackendDone) for e in events)
    assert "low-risk" in summary(events)[1]


def test_backend_tag_ends_an_unclosed_user_message() -> None:
    """A <backend> tag inside the message closes it (small models forget </user_message>)."""
    events = parse_answer('<user_message>Done for you\n\n<backend>{"a": 1}</backend>')
    assert MessageDone("Done for you") in events and BackendDone({"a": 1}) in events


def test_complete_once_both_blocks_are_closed() -> None:
    """The parser reports completion when the message and the backend are both closed."""
    parser = AnswerParser()
    parser.feed("<user_message>Hi</user_message><backend>{}")
    assert not parser.complete
    parser.feed("</backend>")
    assert parser.complete


def test_a_repeated_opening_tag_inside_the_message_is_dropped() -> None:
    """<user_message> written again inside the message does not show up in the text."""
    events = parse_answer("<user_message>One<user_message> two</user_message>")
    assert MessageDone("One two") in events


# What Qwen 2.5 Coder 1.5B wrote for the ANSWER's request: no <user_message> tag at all.
UNTAGGED = (
    "I've built a conservative strategy for your $5,000 targeting 3% a month.\n"
    f"<backend>\n{json.dumps(STRATEGY, ensure_ascii=False)}\n</backend>"
)
UNTAGGED_MESSAGE = "I've built a conservative strategy for your $5,000 targeting 3% a month."


def test_untagged_message_streams_before_the_backend() -> None:
    """Text before any tag streams as the message at once, then the backend parts follow."""
    parser = AnswerParser()
    assert parser.feed("\n I've built") == [MessageDelta("I've built")]
    assert parser.feed(" a plan.\n<back") == [MessageDelta(" a plan.")]
    assert parser.feed('end>{"a": 1}</backend>') == [
        MessageDone("I've built a plan."),
        BackendPart("a", 1),
        BackendDone({"a": 1}),
    ]
    assert parser.complete


def test_untagged_message_split_at_every_byte_gives_the_same_result() -> None:
    """The untagged answer parses the same at any two-chunk split, the message first."""
    data = UNTAGGED.encode()
    expected = (UNTAGGED_MESSAGE, UNTAGGED_MESSAGE, list(STRATEGY), BackendDone(STRATEGY))
    for cut in range(len(data) + 1):
        events = run([data[:cut], data[cut:]])
        assert summary(events) == expected, cut
        assert isinstance(events[0], MessageDelta), cut


def test_a_partial_opening_tag_is_held_not_taken_as_message() -> None:
    """``<user`` at the start waits for the rest of the tag instead of becoming text."""
    parser = AnswerParser()
    assert parser.feed("  <user") == []
    assert parser.feed("_message>Hi") == [MessageDelta("Hi")]


def test_text_that_only_looks_like_a_tag_opens_the_message() -> None:
    """A ``<`` that starts no known tag is message text."""
    events = parse_answer("<b>Bold</b> plan\n<backend>{}</backend>")
    assert MessageDone("<b>Bold</b> plan") in events and BackendDone({}) in events


def test_an_answer_opening_with_json_is_the_backend() -> None:
    """A bare ``{`` first is the backend object; a message after it still counts."""
    events = parse_answer('{"a": 1}\n<user_message>Later</user_message>')
    assert BackendPart("a", 1) in events and BackendDone({"a": 1}) in events
    assert MessageDone("Later") in events
    assert not [e for e in events if isinstance(e, BackendInvalid)]


def test_backend_first_then_tagged_message_gives_one_message() -> None:
    """``<backend>`` first does not open an empty message; the later tagged one is the message."""
    events = parse_answer('<backend>{"a": 1}</backend>\n<user_message>Later</user_message>')
    assert [e for e in events if isinstance(e, MessageDone)] == [MessageDone("Later")]
    assert BackendDone({"a": 1}) in events
