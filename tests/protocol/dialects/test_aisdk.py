"""The AI SDK UI message stream encoder: canonical events in, SDK parts out, no I/O."""

from __future__ import annotations

from typing import Any

from agentstream.protocol.dialects.aisdk import UIMessageStream
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateDelta,
    StateSnapshot,
    StepFinished,
    StepStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
    stamp,
)


def feed(*events: Event) -> list[dict[str, Any]]:
    encoder = UIMessageStream()
    parts: list[dict[str, Any]] = []
    for seq, event in enumerate(events, 1):
        parts += encoder.feed(stamp(event, run_id="r", seq=seq, ts=0.0))
    return parts


def types(parts: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in parts]


def test_text_opens_once_and_a_tool_call_closes_it() -> None:
    """text-start before the first delta only; a tool call ends the block; new text reopens."""
    parts = feed(
        RunStarted(),
        TextMessageChunk(delta="a"),
        TextMessageChunk(delta="b"),
        ToolCallChunk(tool_call_id="t1", tool_call_name="clock", delta='{"tz":"UTC"}'),
        ToolCallResult(tool_call_id="t1", content='{"h":1}'),
        TextMessageChunk(delta="c"),
        RunFinished(result={"x": 1}),
    )
    assert types(parts) == [
        "start",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "tool-output-available",
        "text-start",
        "text-delta",
        "text-end",
        "data-result",
        "finish",
    ]
    assert parts[1]["id"] == "r-text-1" and parts[9]["id"] == "r-text-2"
    assert parts[7]["input"] == {"tz": "UTC"} and parts[8]["output"] == {"h": 1}
    assert parts[0]["messageMetadata"] == {"runId": "r", "seq": 1}
    assert parts[-1]["finishReason"] == "stop"


def test_a_failed_tool_and_non_json_values_stay_text() -> None:
    """A tool error is tool-output-error; input or output that is not JSON stays a string."""
    parts = feed(
        ToolCallChunk(tool_call_id="t", tool_call_name="n", delta="not json"),
        ToolCallResult(tool_call_id="t", content="no such city", status="error"),
    )
    assert parts[2]["input"] == "not json"
    assert parts[3] == {
        "type": "tool-output-error",
        "toolCallId": "t",
        "dynamic": True,
        "errorText": "no such city",
    }


def test_state_deltas_become_whole_state_parts_with_one_id() -> None:
    """A snapshot then patches: each part carries the whole state so far, all with id 'state'."""
    parts = feed(
        StateSnapshot(snapshot={"a": 1}),
        StateDelta(delta=[{"op": "add", "path": "/b", "value": 2}]),
        StateDelta(delta=[{"op": "remove", "path": "/nope"}]),  # does not apply: skipped
        StateDelta(delta=[{"op": "replace", "path": "/a", "value": 3}]),
    )
    assert [p["data"] for p in parts] == [{"a": 1}, {"a": 1, "b": 2}, {"a": 3, "b": 2}]
    assert {p["id"] for p in parts} == {"state"} and types(parts) == ["data-state"] * 3


def test_the_snapshot_in_the_log_is_not_changed_by_later_deltas() -> None:
    """Applying a delta copies: the logged snapshot event keeps its value (replay renders it)."""
    snapshot = {"a": 1}
    feed(
        StateSnapshot(snapshot=snapshot),
        StateDelta(delta=[{"op": "add", "path": "/b", "value": 2}]),
    )
    assert snapshot == {"a": 1}


def test_custom_events_and_steps_are_data_parts_named_by_their_name() -> None:
    """CUSTOM progress -> data-progress (id = name); steps -> data-step with a status."""
    parts = feed(
        Custom(name="progress", value={"progress": 50}),
        StepStarted(step_name="plan"),
        StepFinished(step_name="plan"),
    )
    assert parts[0] == {"type": "data-progress", "id": "progress", "data": {"progress": 50}}
    assert [p["data"]["status"] for p in parts[1:]] == ["started", "finished"]


def test_a_cancel_is_abort_and_a_failure_is_error_then_finish() -> None:
    """Stopping is not failing: cancelled -> abort; any other error -> error + finish(error)."""
    cancelled = feed(TextMessageChunk(delta="a"), RunError(message="stopped", code="cancelled"))
    assert types(cancelled) == ["text-start", "text-delta", "text-end", "abort"]
    assert cancelled[-1]["reason"] == "stopped"
    failed = feed(RunError(message="boom", code="model_error"))
    assert types(failed) == ["error", "finish"] and failed[0]["errorText"] == "boom"
    assert failed[1]["finishReason"] == "error"


def test_the_encoder_says_when_the_message_ended() -> None:
    """``ended`` turns true at the terminal event (and after error())."""
    encoder = UIMessageStream()
    encoder.feed(stamp(TextMessageChunk(delta="a"), run_id="r", seq=1, ts=0.0))
    assert not encoder.ended
    encoder.feed(stamp(RunFinished(), run_id="r", seq=2, ts=0.0))
    assert encoder.ended
    other = UIMessageStream()
    assert types(other.error("no")) == ["error", "finish"] and other.ended


def test_an_empty_first_chunk_opens_text_without_an_empty_delta() -> None:
    """A chunk with no text starts the block but sends no empty text-delta."""
    assert types(feed(TextMessageChunk(delta=""))) == ["text-start"]
