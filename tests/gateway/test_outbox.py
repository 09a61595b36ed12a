"""The connection outbox with no socket: feed events and controls, read frames back."""

from __future__ import annotations

import json
from typing import Any

from agentstream.gateway.outbox import BEHIND_MIN, Outbox
from agentstream.protocol.control import CancelAnswer, ErrorAnswer, Pong
from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk, ToolCallChunk
from agentstream.runs.coalesce import MAX_MERGED_CHARS


def text(delta: str, seq: int, run: str = "r") -> TextMessageChunk:
    return TextMessageChunk(delta=delta, run_id=run, seq=seq, message_id="m")


def tool(seq: int) -> ToolCallChunk:
    return ToolCallChunk(tool_call_id=f"t{seq}", tool_call_name="x", run_id="r", seq=seq)


def frames(outbox: Outbox) -> list[dict[str, Any]]:
    return [json.loads(f) for f in outbox.take_all()]


def outbox(
    limit: int = 100, coalesce: bool = False, dialect: str = "agentstream", merge: bool = False
) -> Outbox:
    return Outbox(get_dialect(dialect), limit=limit, coalesce=coalesce, merge_waiting=merge)


def test_by_default_each_event_is_its_own_frame() -> None:
    """A client that asked for no merging, with no backlog, gets three deltas as three frames."""
    box = Outbox(get_dialect("agentstream"), limit=100)
    for i, word in enumerate(["a", "b", "c"], 1):
        box.add_event(text(word, i))
    got = frames(box)
    assert [(f["delta"], f["seq"]) for f in got] == [("a", 1), ("b", 2), ("c", 3)]
    assert not any("firstSeq" in f for f in got)


def test_text_waiting_for_the_writer_merges_and_names_its_first_seq() -> None:
    """With merge_waiting, deltas that arrive before the writer takes the first are one frame."""
    box = outbox(merge=True)
    for i, word in enumerate(["a", "b", "c"], 1):
        box.add_event(text(word, i))
    assert [(f["delta"], f["seq"], f["firstSeq"]) for f in frames(box)] == [("abc", 3, 1)]


def test_text_taken_by_the_writer_is_not_merged_into() -> None:
    """A delta arriving after the writer took the previous one is a frame of its own."""
    box = outbox(merge=True)
    box.add_event(text("a", 1))
    first = json.loads(box.take() or "")
    box.add_event(text("b", 2))
    (second,) = frames(box)
    assert (first["delta"], first["seq"], second["delta"], second["seq"]) == ("a", 1, "b", 2)
    assert "firstSeq" not in first and "firstSeq" not in second


def test_a_single_delta_shares_the_events_cached_encoding() -> None:
    """Text that merged with nothing is the event's shared frame, not a fresh encoding."""
    event = text("a", 1)
    box, other = outbox(merge=True), outbox(merge=True)
    box.add_event(event)
    other.add_event(event)
    assert box.take() is other.take()


def test_a_merged_ag_ui_frame_keeps_first_seq_in_its_metadata() -> None:
    """In AG-UI, where seq lives in metadata, firstSeq goes beside it."""
    box = outbox(dialect="ag-ui", merge=True)
    box.add_event(text("a", 4))
    box.add_event(text("b", 5))
    (frame,) = frames(box)
    assert frame["metadata"]["seq"] == 5 and frame["metadata"]["firstSeq"] == 4
    assert "firstSeq" not in frame and frame["delta"] == "ab"


def test_a_merged_seed_frame_carries_first_seq_beside_seq() -> None:
    """A seed dialect's merged text frame has firstSeq next to its seq."""
    box = outbox(dialect="calledit", merge=True)
    box.add_event(text("Hel", 2))
    box.add_event(text("lo", 3))
    (frame,) = frames(box)
    assert (frame["type"], frame["content"], frame["seq"], frame["firstSeq"]) == (
        "text",
        "Hello",
        3,
        2,
    )


def test_text_of_two_messages_does_not_merge() -> None:
    """Deltas of different messages stay apart even while waiting."""
    box = outbox(merge=True)
    box.add_event(text("a", 1))
    box.add_event(TextMessageChunk(delta="b", run_id="r", seq=2, message_id="other"))
    assert [f["delta"] for f in frames(box)] == ["a", "b"]


def test_merged_text_stops_at_the_frame_size_cap() -> None:
    """Waiting text never merges past MAX_MERGED_CHARS; the rest starts a new frame."""
    box = outbox(merge=True)
    half = "x" * (MAX_MERGED_CHARS // 2)
    for i in range(1, 4):
        box.add_event(text(half, i))
    got = frames(box)
    assert [len(f["delta"]) for f in got] == [MAX_MERGED_CHARS, MAX_MERGED_CHARS // 2]
    assert [(f.get("firstSeq"), f["seq"]) for f in got] == [(1, 2), (None, 3)]


def test_with_a_window_waiting_text_merges_into_one_frame() -> None:
    """Coalescing joins waiting deltas in order under the last delta's seq."""
    box = outbox(coalesce=True)
    for i, word in enumerate(["Hel", "lo", "!"], 1):
        box.add_event(text(word, i))
    assert [(f["delta"], f["seq"]) for f in frames(box)] == [("Hello!", 3)]


def test_a_non_text_event_flushes_text_and_keeps_order() -> None:
    """Text before and after a tool call stays on its side of it."""
    box = outbox(coalesce=True)
    events: list[Event] = [text("a", 1), text("b", 2), tool(3), text("c", 4), text("d", 5)]
    for event in events:
        box.add_event(event)
    got = frames(box)
    assert [f["type"] for f in got] == [
        "TEXT_MESSAGE_CHUNK",
        "TOOL_CALL_CHUNK",
        "TEXT_MESSAGE_CHUNK",
    ]
    assert [f.get("delta") for f in got] == ["ab", "{}", "cd"]
    assert [f["seq"] for f in got] == [2, 3, 5]


def test_text_of_two_runs_does_not_merge() -> None:
    """Two runs multiplexed on one connection keep their own frames."""
    box = outbox(coalesce=True)
    box.add_event(text("a", 1, run="r1"))
    box.add_event(text("b", 1, run="r2"))
    assert [(f["runId"], f["delta"]) for f in frames(box)] == [("r1", "a"), ("r2", "b")]


def test_a_client_falling_behind_gets_text_merged_without_a_window() -> None:
    """Past half the limit (at least BEHIND_MIN), waiting text merges even with no window."""
    box = outbox(limit=40)
    assert box.behind == 20
    for i in range(1, 20):
        box.add_event(tool(i))
    box.add_event(text("a", 20))  # the 20th frame: not yet behind when it arrived
    box.add_event(text("b", 21))  # 20 frames waiting: behind, so it merges
    got = frames(box)
    assert len(got) == 20 and got[-1]["delta"] == "ab" and got[-1]["seq"] == 21


def test_the_behind_mark_has_a_floor() -> None:
    """A tiny outbox does not count a couple of frames as falling behind."""
    assert outbox(limit=4).behind == BEHIND_MIN


def test_urgent_marks_anything_but_text() -> None:
    """Text alone is not urgent (a window may wait for more); a tool call or control is."""
    box = outbox(coalesce=True)
    box.add_event(text("a", 1))
    assert not box.urgent
    box.add_event(tool(2))
    assert box.urgent
    box.take_all()
    assert not box.urgent
    box.add_control(Pong())
    assert box.urgent


def test_overflow_drops_everything_and_refuses_more() -> None:
    """The frame past the limit overflows: the outbox empties and accepts nothing after."""
    box = outbox(limit=3)
    assert all(box.add_event(tool(i)) for i in (1, 2, 3))
    assert not box.add_event(tool(4))
    assert box.overflowed and len(box) == 0
    assert not box.add_control(Pong())
    assert not box.add_event(text("late", 5))
    assert box.take() is None


def test_exactly_the_limit_fits() -> None:
    """An outbox holds exactly ``limit`` frames before it overflows."""
    box = outbox(limit=3)
    for i in (1, 2, 3):
        box.add_event(tool(i))
    assert not box.overflowed and len(box) == 3


def test_merging_text_does_not_use_room() -> None:
    """A delta that merges into the last frame never overflows the outbox."""
    box = outbox(limit=2, coalesce=True)
    box.add_event(tool(1))
    for i in range(2, 50):
        assert box.add_event(text("x", i))
    assert len(box) == 2 and not box.overflowed


def test_controls_are_rendered_by_the_dialect_with_their_request_id() -> None:
    """A control answer comes out as the dialect renders it, with the requestId it answers."""
    box = outbox(dialect="realestate")
    box.add_control(CancelAnswer(run_id="r", state="unknown", message="no such run", request_id=4))
    box.add_control(ErrorAnswer(message="bad", code="invalid_json", request_id="e"))
    cancel, error = frames(box)
    assert cancel["type"] == "cancel" and cancel["requestId"] == 4
    assert isinstance(cancel["timestamp"], float)
    assert error["type"] == "error" and error["error"] == "bad" and error["requestId"] == "e"


def test_controls_never_merge_with_text() -> None:
    """A control frame between two deltas keeps them apart, in order."""
    box = outbox(coalesce=True)
    box.add_event(text("a", 1))
    box.add_control(Pong(request_id="p"))
    box.add_event(text("b", 2))
    box.add_event(RunFinished(run_id="r", seq=3))
    got = frames(box)
    assert [f["type"] for f in got] == [
        "TEXT_MESSAGE_CHUNK",
        "pong",
        "TEXT_MESSAGE_CHUNK",
        "RUN_FINISHED",
    ]


def test_a_frame_that_cannot_be_encoded_becomes_an_error_frame() -> None:
    """A frame too deep to encode yields an error frame; the frames after it still go out."""
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    outbox = Outbox(get_dialect("calledit"), limit=10)
    outbox.add_event(RunFinished(result={"x": deep}, run_id="r", seq=1))
    outbox.add_control(Pong(request_id="p"))
    first, second = frames(outbox)
    assert first["type"] == "error" and first["code"] == "internal_error"
    assert second == {"type": "pong", "requestId": "p"}


def test_connections_in_one_dialect_share_one_encoding() -> None:
    """Two outboxes taking the same event get the very same text object (encoded once)."""
    event = text("a", 1)
    first, second = outbox(), outbox()
    first.add_event(event)
    second.add_event(event)
    frame = first.take()
    assert frame is not None and second.take() is frame
    assert first.taken is event


def test_a_merged_frame_is_encoded_from_the_merged_event() -> None:
    """Coalesced deltas are a new event: its frame carries both deltas, not b's cached frame."""
    a, b = text("a", 1), text("b", 2)
    single = outbox()
    single.add_event(b)
    single.take()  # b's own frame is now cached on b
    box = outbox(coalesce=True)
    box.add_event(a)
    box.add_event(b)
    (frame,) = frames(box)
    assert frame["delta"] == "ab" and frame["seq"] == 2
