"""The canonical codec: every event survives a round trip; bad frames raise DecodeError."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentstream.protocol import codec
from agentstream.protocol.codec import encode, frame_text, to_dict
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

SAMPLES = [
    RunStarted(input={"prompt": "p"}),
    TextMessageChunk(delta='hé\n"quoted"', message_id="m1"),
    ToolCallChunk(tool_call_id="t1", tool_call_name="current_time", delta='{"timezone":"UTC"}'),
    ToolCallResult(tool_call_id="t1", content="ok", tool_call_name="current_time"),
    StepStarted(step_name="analyzing"),
    StepFinished(step_name="analyzing"),
    StateSnapshot(snapshot={"a": [1, 2]}),
    StateDelta(delta=[{"op": "add", "path": "/a/-", "value": 3}]),
    Custom(name="progress", value={"step": "generating", "progress": 50}),
    RunFinished(result={"x": 1}),
    RunError(message="boom", code="model_error"),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_round_trip(event: object) -> None:
    """Encoding then decoding gives back an equal event, envelope included."""
    stamped = stamp(event, run_id="run_1", seq=7, ts=1.5)  # type: ignore[arg-type]
    assert codec.decode(codec.encode(stamped)) == stamped


def test_canonical_shape_is_camel_case() -> None:
    """Frames use AG-UI's SCREAMING_CASE type and camelCase fields."""
    frame = codec.to_dict(
        stamp(ToolCallChunk(tool_call_id="t", tool_call_name="n"), run_id="r", seq=1, ts=0.0)
    )
    assert frame == {
        "type": "TOOL_CALL_CHUNK",
        "runId": "r",
        "seq": 1,
        "ts": 0.0,
        "toolCallId": "t",
        "toolCallName": "n",
        "delta": "{}",
        "parentMessageId": "",
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"type":"NOPE"}', "unknown event type"),
        ('{"type":"TEXT_MESSAGE_CHUNK","delta":"x","bogus":1}', "no field 'bogus'"),
        ('{"type":"TEXT_MESSAGE_CHUNK"}', "TEXT_MESSAGE_CHUNK"),
    ],
)
def test_bad_frames_raise_decode_error(text: str, reason: str) -> None:
    """Malformed frames raise DecodeError with a reason, never another exception."""
    with pytest.raises(codec.DecodeError, match=reason):
        codec.decode(text)


@given(st.text())
def test_any_text_delta_round_trips(delta: str) -> None:
    """Arbitrary unicode text survives encoding."""
    event = TextMessageChunk(delta=delta)
    assert codec.decode(codec.encode(event)) == event


def test_an_event_is_encoded_once_per_dialect() -> None:
    """frame_text renders a dialect once and hands back the same text after that."""
    event = TextMessageChunk(delta="hi", message_id="m", run_id="r", seq=1)
    calls: list[str] = []

    def render(e: Event) -> dict[str, object]:
        calls.append("x")
        return {"t": e.type}

    first = frame_text(event, "x", render)
    assert frame_text(event, "x", render) is first and calls == ["x"]
    assert frame_text(event, "agentstream", to_dict) == encode(event)
    assert set(event.frames or {}) == {"x", "agentstream"}


def test_the_frame_cache_is_not_part_of_the_event() -> None:
    """The cache is not a wire field, not compared, and a copy starts without it."""
    event = TextMessageChunk(delta="hi", message_id="m", run_id="r", seq=1)
    encode(event)
    assert "frames" not in to_dict(event)
    assert event == TextMessageChunk(delta="hi", message_id="m", run_id="r", seq=1)
    copy = dataclasses.replace(event, delta="ho")
    assert copy.frames is None and json.loads(encode(copy))["delta"] == "ho"


def test_an_unencodable_frame_is_not_cached() -> None:
    """A frame orjson refuses raises TypeError and leaves nothing cached for that dialect."""
    event = TextMessageChunk(delta="hi", message_id="m", run_id="r", seq=1)
    with pytest.raises(TypeError):
        frame_text(event, "bad", lambda e: {"v": object()})
    assert "bad" not in (event.frames or {})


def test_a_merged_text_frame_decodes_to_one_event_with_its_last_seq() -> None:
    """firstSeq (merged text) is envelope, not a field: the frame decodes with its last seq."""
    frame = {"type": "TEXT_MESSAGE_CHUNK", "runId": "r", "seq": 9, "firstSeq": 7, "delta": "abc"}
    event = codec.from_dict(frame)
    assert isinstance(event, TextMessageChunk)
    assert (event.seq, event.delta) == (9, "abc")
