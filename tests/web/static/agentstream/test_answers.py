"""Answers paired with the message they answer by requestId (agentstream/answers.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_every_message_carries_its_own_request_id(page: Any) -> None:
    """Start, reply, cancel, resume and ping each go out with a requestId no other message has."""
    ids = js(
        page,
        """
      const c = client({ heartbeatMs: 5 });
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      c.request('logcall', {runId: 'R0'}).catch(() => {});
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1,
                      requestId: last().sent[0].requestId});
      last().receive({type: 'text', content: 'x', runId: 'R', seq: 3});  // a gap: resume
      run.cancel();
      await until(() => last().sent.some((m) => m.action === 'ping'), 'a ping');
      c.close();
      return last().sent.map((m) => [m.action, m.requestId]);
    """,
    )
    assert [a for a, _ in ids][:4] == ["makecall", "logcall", "resume", "cancel"]
    assert "ping" in [a for a, _ in ids]
    request_ids = [r for _, r in ids]
    assert all(isinstance(r, str) and r for r in request_ids)
    assert len(set(request_ids)) == len(request_ids)


def test_two_replies_answered_out_of_order_each_get_their_own(page: Any) -> None:
    """The second request's answer arriving first resolves the second promise, not the first."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const first = c.request('logcall', {runId: 'A'});
      const second = c.request('logcall', {runId: 'B'});
      const [ma, mb] = last().sent;
      last().receive({type: 'logcall_result', requestId: mb.requestId, call: {for: 'B'}});
      last().receive({type: 'logcall_result', requestId: ma.requestId, call: {for: 'A'}});
      return [(await first).call.for, (await second).call.for];
    """,
    )
    assert result == ["A", "B"]


def test_an_error_answer_rejects_only_the_request_it_names(page: Any) -> None:
    """An error with the second request's id fails that one; the first still gets its answer."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const first = c.request('logcall', {runId: 'A'});
      const second = c.request('logcall', {runId: 'B'});
      const [ma, mb] = last().sent;
      last().receive({type: 'error', requestId: mb.requestId, message: 'no such run',
                      code: 'unknown_run'});
      last().receive({type: 'logcall_result', requestId: ma.requestId, call: {for: 'A'}});
      let code = null;
      try { await second; } catch (err) { code = err.code; }
      return [(await first).call.for, code];
    """,
    )
    assert result == ["A", "unknown_run"]


def test_runs_started_out_of_order_get_their_own_ids(page: Any) -> None:
    """Two runs whose started frames arrive in reverse order each take the id meant for them."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const a = c.start('makecall', {prompt: 'a'});
      const b = c.start('makecall', {prompt: 'b'});
      const [sa, sb] = last().sent;
      last().receive({type: 'status', status: 'started', runId: 'B', seq: 1,
                      requestId: sb.requestId});
      last().receive({type: 'status', status: 'started', runId: 'A', seq: 1,
                      requestId: sa.requestId});
      return [a.id, b.id];
    """,
    )
    assert result == ["A", "B"]


def test_an_answer_with_an_unknown_request_id_is_given_to_no_one(page: Any) -> None:
    """A reply naming a requestId nobody sent does not resolve the request that is waiting."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      let settled = null;
      const reply = c.request('logcall', {runId: 'A'}).then((r) => (settled = r.call.for));
      const sent = last().sent[0];
      last().receive({type: 'logcall_result', requestId: 'someone-else', call: {for: 'X'}});
      await new Promise((r) => setTimeout(r, 20));
      const before = settled;
      last().receive({type: 'logcall_result', requestId: sent.requestId, call: {for: 'A'}});
      await reply;
      return [before, settled];
    """,
    )
    assert result == [None, "A"]


def test_cancel_answers_out_of_order_end_the_run_they_name(page: Any) -> None:
    """Cancels of two runs answered in reverse order: 'unknown' ends only the run it names."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const runs = [c.resume('A', 2), c.resume('B', 2)];
      runs.forEach((r) => r.cancel());
      const cancels = last().sent.filter((m) => m.action === 'cancel');
      last().receive({type: 'cancel', runId: 'B', state: 'unknown', message: 'gone',
                      requestId: cancels[1].requestId});
      last().receive({type: 'cancel', runId: 'A', state: 'cancelling', message: 'stopping',
                      requestId: cancels[0].requestId});
      return {states: runs.map((r) => r.state), targets: cancels.map((m) => m.runId),
              waiting: c._answers.some((a) => a.action === 'cancel')};
    """,
    )
    assert result == {"states": ["running", "cancelled"], "targets": ["A", "B"], "waiting": False}


def test_an_answer_without_request_id_answers_no_message(page: Any) -> None:
    """An answer naming no requestId is given to no waiting message: no pairing by guesswork."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const a = c.resume('A', 1);
      const b = c.resume('B', 1);
      last().receive({type: 'resume', runId: 'A', state: 'running', lastSeq: 1});
      const left = c._answers.some((e) => e.run === a);
      return {left, waitingB: c._answers.some((e) => e.run === b)};
    """,
    )
    assert result == {"left": True, "waitingB": True}
