"""Both dialects' frames mapped onto one vocabulary of run events (agentstream/frames.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_both_dialects_normalize_to_the_same_events(page: Any) -> None:
    """A calledit frame and its agentstream twin become the same run event."""
    pairs = js(
        page,
        """
      const pairs = [
        [{type: 'status', status: 'started', runId: 'r', seq: 1, requestId: 'q'},
         {type: 'RUN_STARTED', runId: 'r', seq: 1, input: {requestId: 'q'}}],
        [{type: 'text', content: 'Hi ', runId: 'r', seq: 2},
         {type: 'TEXT_MESSAGE_CHUNK', delta: 'Hi ', runId: 'r', seq: 2}],
        [{type: 'tool', name: 'current_time', input: {timezone: 'UTC'}, id: 't1',
          runId: 'r', seq: 3},
         {type: 'TOOL_CALL_CHUNK', toolCallName: 'current_time', toolCallId: 't1',
          delta: '{"timezone": "UTC"}', runId: 'r', seq: 3}],
        [{type: 'tool_result', id: 't1', name: 'current_time', content: '{}', status: 'success',
          runId: 'r', seq: 4},
         {type: 'TOOL_CALL_RESULT', toolCallId: 't1', toolCallName: 'current_time', content: '{}',
          status: 'success', runId: 'r', seq: 4}],
        [{type: 'complete', content: {a: 1}, runId: 'r', seq: 5},
         {type: 'RUN_FINISHED', result: {a: 1}, runId: 'r', seq: 5}],
        [{type: 'error', message: 'no', code: 'cancelled', runId: 'r', seq: 6},
         {type: 'RUN_ERROR', message: 'no', code: 'cancelled', runId: 'r', seq: 6}],
      ];
      return pairs.map(([a, b]) => [as.normalizeFrame(a), as.normalizeFrame(b)]);
    """,
    )
    for seed, canonical in pairs:
        assert seed == canonical
    assert [p[0]["kind"] for p in pairs] == [
        "started",
        "text",
        "tool",
        "tool_result",
        "complete",
        "error",
    ]
    assert js(page, "return as.normalizeFrame({type: 'pong'});") is None


def test_the_seed_s_json_string_record_is_parsed(page: Any) -> None:
    """A complete frame whose content is a JSON string (the seed's format) yields an object."""
    event = js(
        page,
        """return as.normalizeFrame(
             {type: 'complete', content: '{"a": [1]}', runId: 'r', seq: 9});""",
    )
    assert event["result"] == {"a": [1]}


def test_engine_progress_is_a_custom_event_in_both_dialects(page: Any) -> None:
    """calledit's {type: progress, value} and CUSTOM progress give the same custom event."""
    pair = js(
        page,
        """
      const value = {stage: 'prompt', processed: 10, total: 40, cached: 0};
      return [as.normalizeFrame({type: 'progress', value, runId: 'r', seq: 2}),
              as.normalizeFrame({type: 'CUSTOM', name: 'progress', value, runId: 'r', seq: 2})];
    """,
    )
    assert pair[0] == pair[1]
    assert pair[0]["kind"] == "custom" and pair[0]["name"] == "progress"
    assert pair[0]["value"] == {"stage": "prompt", "processed": 10, "total": 40, "cached": 0}


def test_state_frames_of_both_dialects_become_state_events(page: Any) -> None:
    """state/STATE_SNAPSHOT and state_delta/STATE_DELTA map to the same state events."""
    pairs = js(
        page,
        """
      const ops = [{op: 'add', path: '/a', value: 1}];
      return [[as.normalizeFrame({type: 'state', snapshot: {a: 0}, runId: 'r', seq: 3}),
               as.normalizeFrame({type: 'STATE_SNAPSHOT', snapshot: {a: 0}, runId: 'r', seq: 3})],
              [as.normalizeFrame({type: 'state_delta', delta: ops, runId: 'r', seq: 4}),
               as.normalizeFrame({type: 'STATE_DELTA', delta: ops, runId: 'r', seq: 4})]];
    """,
    )
    for seed, canonical in pairs:
        assert seed == canonical
    assert [p[0]["kind"] for p in pairs] == ["state", "state_delta"]
