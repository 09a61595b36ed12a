"""Runs and requests over one socket: multiplexing, offline work, cancel (agentstream/client.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_several_runs_share_one_socket(page: Any) -> None:
    """Runs match their started frame by requestId, whatever the order, and keep frames apart."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const a = c.start('makecall', {prompt: 'a'});
      const b = c.start('makecall', {prompt: 'b'});
      const [sa, sb] = last().sent;
      last().receive(
        {type: 'status', status: 'started', runId: 'B', seq: 1, requestId: sb.requestId});
      last().receive(
        {type: 'status', status: 'started', runId: 'A', seq: 1, requestId: sa.requestId});
      last().receive({type: 'text', content: 'for b', runId: 'B', seq: 2});
      last().receive({type: 'text', content: 'for a', runId: 'A', seq: 2});
      return {a: [a.id, a.text], b: [b.id, b.text]};
    """,
    )
    assert result == {"a": ["A", "for a"], "b": ["B", "for b"]}


def test_an_error_without_run_id_fails_the_request_it_answers(page: Any) -> None:
    """An invalid_request error (no runId) ends the run that was waiting for its first frame."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: ''});
      last().receive({type: 'error', message: 'invalid request: prompt: too short',
                      code: 'invalid_request', requestId: last().sent[0].requestId});
      await run.finished;
      return [run.state, run.error.code, c.pendingRuns.size];
    """,
    )
    assert result == ["failed", "invalid_request", 0]


def test_work_asked_for_offline_goes_out_once_connected(page: Any) -> None:
    """Runs and requests made before the socket opens are sent on open, in order."""
    sent = js(
        page,
        """
      const c = client();
      c.start('makecall', {prompt: 'first'});
      const reply = c.request('logcall', {runId: 'R0'});
      last().open();
      const out = last().sent.map((m) => [m.action, m.prompt ?? m.runId]);
      const [first, second] = last().sent;
      last().receive(
        {type: 'status', status: 'started', runId: 'R1', seq: 1, requestId: first.requestId});
      last().receive({type: 'logcall_result', call: {call_id: 'c1'}, requestId: second.requestId});
      return {out, reply: (await reply).call};
    """,
    )
    assert sent == {"out": [["makecall", "first"], ["logcall", "R0"]], "reply": {"call_id": "c1"}}


def test_a_request_is_rejected_when_the_socket_drops_before_its_answer(page: Any) -> None:
    """request() rejects with code 'disconnected' rather than hanging."""
    code = js(
        page,
        """
      const c = client();
      last().open();
      const reply = c.request('logcall', {runId: 'R'});
      last().drop();
      try { await reply; return 'resolved'; } catch (err) { return err.code; }
    """,
    )
    assert code == "disconnected"


def test_cancel_before_the_run_id_is_known_is_sent_once_it_is(page: Any) -> None:
    """Cancelling a run that has not started yet sends the cancel as soon as its id arrives."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      run.cancel();
      const before = last().sent.length;
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1,
                      requestId: last().sent[0].requestId});
      const cancel = last().sent[1];
      last().receive({type: 'cancel', runId: 'R', state: 'cancelling', message: 'cancelling',
                      requestId: cancel.requestId});
      last().receive({type: 'error', message: 'Run cancelled by the user', code: 'cancelled',
                      runId: 'R', seq: 2});
      await run.finished;
      return {before, cancel, state: run.state};
    """,
    )
    assert result["cancel"].pop("requestId")
    assert result == {
        "before": 1,
        "cancel": {"action": "cancel", "runId": "R"},
        "state": "cancelled",
    }
