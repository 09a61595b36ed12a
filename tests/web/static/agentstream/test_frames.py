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
