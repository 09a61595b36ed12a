"""agentstream.js, the entry module: it re-exports the public API the apps' pages import."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js

PUBLIC = [
    "AgentStream",
    "AgentStreamError",
    "DEFAULT_BACKOFF",
    "Run",
    "RunState",
    "Status",
    "applyPatch",
    "backoffDelay",
    "browserUserId",
    "normalizeFrame",
]


def test_the_entry_module_exports_exactly_the_public_api(page: Any) -> None:
    """Every name the pages and agentstream.d.ts use is exported, and nothing internal."""
    names = js(page, "return Object.keys(as).sort();")
    assert names == sorted(PUBLIC)


def test_a_run_accumulates_state_then_the_result_wins(page: Any) -> None:
    """run.snapshot follows state and state_delta; run.result is the complete record."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      const id = last().sent[0].requestId;
      const seen = [];
      run.on('state_delta', () => seen.push(structuredClone(run.snapshot)));
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1, requestId: id});
      last().receive({type: 'state', snapshot: {s: 'It'}, runId: 'R', seq: 2});
      last().receive({type: 'state_delta', runId: 'R', seq: 3,
                      delta: [{op: 'replace', path: '/s', value: 'It will'}]});
      last().receive({type: 'complete', content: {s: 'It will rain.'}, runId: 'R', seq: 4});
      await run.finished;
      return {seen, snapshot: run.snapshot, result: run.result};
    """,
    )
    assert result == {
        "seen": [{"s": "It will"}],
        "snapshot": {"s": "It will"},
        "result": {"s": "It will rain."},
    }
