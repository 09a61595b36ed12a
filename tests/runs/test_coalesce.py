"""Merging text deltas: what a merge produces, and what must never merge."""

from __future__ import annotations

from agentstream.protocol.events import TextMessageChunk, ToolCallChunk
from agentstream.runs.coalesce import MAX_MERGED_CHARS, merge


def chunk(delta: str, seq: int, run: str = "r", message: str = "m") -> TextMessageChunk:
    return TextMessageChunk(delta=delta, run_id=run, seq=seq, ts=float(seq), message_id=message)


def test_deltas_join_in_order() -> None:
    """The merged delta is the earlier text followed by the later text."""
    merged = merge(chunk("Hel", 3), chunk("lo", 4))
    assert isinstance(merged, TextMessageChunk) and merged.delta == "Hello"


def test_the_merged_frame_keeps_the_later_seq_and_ts() -> None:
    """A merged frame carries its last chunk's seq (the resume mark) and timestamp."""
    merged = merge(chunk("a", 3), chunk("b", 4))
    assert merged is not None and (merged.seq, merged.ts) == (4, 4.0)
    assert merged.run_id == "r" and merged.message_id == "m"


def test_chunks_of_different_runs_stay_apart() -> None:
    """Text of two runs sharing a connection never merges."""
    assert merge(chunk("a", 1, run="r1"), chunk("b", 1, run="r2")) is None


def test_chunks_of_different_messages_stay_apart() -> None:
    """Text of two messages of one run never merges."""
    assert merge(chunk("a", 1, message="m1"), chunk("b", 2, message="m2")) is None


def test_nothing_but_text_merges() -> None:
    """A tool call after text, or text after a tool call, stays its own frame."""
    tool = ToolCallChunk(tool_call_id="t", tool_call_name="x", run_id="r", seq=2)
    assert merge(chunk("a", 1), tool) is None
    assert merge(tool, chunk("a", 3)) is None
    assert merge("a control frame", chunk("a", 3)) is None


def test_a_merge_stays_under_the_frame_bound() -> None:
    """Text merges up to MAX_MERGED_CHARS and no further."""
    half = "x" * (MAX_MERGED_CHARS // 2)
    assert merge(chunk(half, 1), chunk(half, 2)) is not None
    assert merge(chunk(half, 1), chunk(half + "y", 2)) is None
