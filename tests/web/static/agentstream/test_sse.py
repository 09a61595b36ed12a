"""Fallback mode (agentstream/sse.js, connection.js): runs over HTTP + SSE when sockets are blocked.

A fake fetch and a fake EventSource play the server; sockets never open unless a test opens one.
"""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js

FAKES = """
const posted = [];
let healthy = true;
const answers = {};
const fetchFake = async (url, init = {}) => {
  const u = new URL(url);
  if (u.pathname === '/healthz') {
    return { ok: healthy, status: healthy ? 200 : 502, json: async () => ({}) };
  }
  const body = init.body ? JSON.parse(init.body) : null;
  posted.push({ path: u.pathname, user: u.searchParams.get('user'),
                dialect: u.searchParams.get('dialect'), body });
  const started = [201, { runId: 'R1', events: '/api/runs/R1/events' }];
  const [status, json] = answers[u.pathname] ?? started;
  return { ok: status < 400, status, json: async () => json };
};
class FakeSource {
  static all = [];
  constructor(url) {
    this.url = new URL(url); this.readyState = 0; this.closed = false; FakeSource.all.push(this);
  }
  send(frame) { this.readyState = 1; this.onmessage?.({ data: JSON.stringify(frame) }); }
  giveUp() { this.readyState = 2; this.onerror?.({}); }
  close() { this.closed = true; this.readyState = 2; }
}
const source = () => FakeSource.all[FakeSource.all.length - 1];
const blocked = (options = {}) => client(
  { fallback: true, fetch: fetchFake, EventSource: FakeSource, wsRetryMs: 60000, ...options });
const failSockets = async (n = 2) => {
  for (let i = 0; i < n; i++) {
    await until(() => FakeSocket.all.length > i, 'socket ' + i);
    FakeSocket.all[i].drop(1006);
  }
};
"""


def run(page: Any, body: str) -> Any:
    return js(page, FAKES + body)


def test_blocked_sockets_with_a_healthy_server_switch_to_sse_and_stream_a_run(page: Any) -> None:
    """Two sockets fail, /healthz answers: status fallback; the run is POSTed and read over SSE."""
    result = run(
        page,
        """
      const c = blocked();
      const r = c.start('makecall', {prompt: 'p'});
      await failSockets(2);
      await until(() => c.status === 'fallback', 'fallback');
      await until(() => FakeSource.all.length === 1, 'event source');
      const s = source();
      s.send({type: 'status', status: 'started', runId: 'R1', seq: 1});
      s.send({type: 'text', content: 'hel', runId: 'R1', seq: 2});
      s.send({type: 'text', content: 'lo', runId: 'R1', seq: 3});
      s.send({type: 'complete', content: {ok: 1}, runId: 'R1', seq: 4});
      await r.finished;
      return {post: posted[0], url: s.url.pathname, q: [s.url.searchParams.get('dialect'),
              s.url.searchParams.get('user')], text: r.text, state: r.state, closed: s.closed,
              requestId: posted[0].body.requestId === r.requestId};
    """,
    )
    assert result["post"]["path"] == "/api/runs" and result["post"]["user"] is None
    assert result["post"]["body"]["action"] == "makecall"
    assert result["url"] == "/api/runs/R1/events" and result["q"] == ["calledit", None]
    assert result["text"] == "hello" and result["state"] == "finished"
    assert result["closed"] and result["requestId"]


def test_an_unreachable_server_is_not_fallback(page: Any) -> None:
    """When /healthz fails too the server is down: keep retrying sockets, no SSE."""
    status = run(
        page,
        """
      healthy = false;
      const c = blocked();
      await failSockets(3);
      return [c.status, c.fallback, FakeSource.all.length];
    """,
    )
    assert status == ["connecting", False, 0]


def test_a_stream_the_browser_gave_up_on_reopens_after_the_last_seq(page: Any) -> None:
    """EventSource CLOSED mid-run: reopened with lastEventId = the last seq; duplicates dropped."""
    result = run(
        page,
        """
      const c = blocked();
      const r = c.start('makecall', {prompt: 'p'});
      await failSockets(2);
      await until(() => FakeSource.all.length === 1);
      source().send({type: 'status', status: 'started', runId: 'R1', seq: 1});
      source().send({type: 'text', content: 'a', runId: 'R1', seq: 2});
      source().giveUp();
      await until(() => FakeSource.all.length === 2, 'reopen');
      const after = source().url.searchParams.get('lastEventId');
      source().send({type: 'text', content: 'a', runId: 'R1', seq: 2});
      source().send({type: 'text', content: 'b', runId: 'R1', seq: 3});
      return [after, r.text];
    """,
    )
    assert result == ["2", "ab"]


def test_cancel_and_replies_go_over_http_in_fallback_mode(page: Any) -> None:
    """cancel() POSTs /api/runs/{id}/cancel; request() POSTs /api/invoke and resolves its result."""
    result = run(
        page,
        """
      answers['/api/invoke'] = [200, {callId: 'c1'}];
      answers['/api/runs/R1/cancel'] = [202, {type: 'cancel', runId: 'R1', state: 'cancelling'}];
      const c = blocked();
      const r = c.start('makecall', {prompt: 'p'});
      await failSockets(2);
      await until(() => FakeSource.all.length === 1);
      r.cancel();
      await until(() => posted.length === 2, 'cancel post');
      const reply = await c.request('logcall', {runId: 'R1'});
      return {paths: posted.map((p) => p.path), reply, invoke: posted[2].body};
    """,
    )
    assert result["paths"] == ["/api/runs", "/api/runs/R1/cancel", "/api/invoke"]
    assert result["reply"]["type"] == "logcall_result" and result["reply"]["callId"] == "c1"
    assert result["invoke"] == {"action": "logcall", "runId": "R1"}


def test_a_refused_start_fails_the_run_with_the_servers_code(page: Any) -> None:
    """A 422 from POST /api/runs ends the run with that message and code (no stream opens)."""
    result = run(
        page,
        """
      answers['/api/runs'] = [422, {message: 'invalid request: prompt', code: 'invalid_request'}];
      const c = blocked();
      const r = c.start('makecall', {prompt: ''});
      await failSockets(2);
      await r.finished;
      return [r.state, r.error.code, FakeSource.all.length, c.pendingRuns.size];
    """,
    )
    assert result == ["failed", "invalid_request", 0, 0]


def test_websockets_are_retried_and_a_working_one_ends_fallback(page: Any) -> None:
    """After wsRetryMs a socket is tried; when it opens: status live, SSE closed, run resumed."""
    result = run(
        page,
        """
      const c = blocked({ wsRetryMs: 20 });
      const r = c.start('makecall', {prompt: 'p'});
      await failSockets(2);
      await until(() => FakeSource.all.length === 1);
      source().send({type: 'status', status: 'started', runId: 'R1', seq: 1});
      source().send({type: 'text', content: 'a', runId: 'R1', seq: 2});
      await until(() => FakeSocket.all.length === 3, 'a new socket');
      last().open();
      const resume = last().sent[0];
      return [c.status, c.fallback, source().closed, resume.action, resume.runId, resume.lastSeq];
    """,
    )
    assert result == ["live", False, True, "resume", "R1", 2]


def test_sockets_that_open_and_close_at_once_also_fall_back(page: Any) -> None:
    """Seed 002's proxy: the upgrade succeeds, then the socket closes at once, twice: fallback."""
    status = run(
        page,
        """
      const c = blocked();
      for (let i = 0; i < 2; i++) {
        await until(() => FakeSocket.all.length > i, 'socket ' + i);
        FakeSocket.all[i].open();
        FakeSocket.all[i].drop(1006);
      }
      await until(() => c.status === 'fallback', 'fallback');
      return [c.status, c.fallback];
    """,
    )
    assert status == ["fallback", True]


def test_a_client_without_a_dialect_streams_canonical_frames(page: Any) -> None:
    """No dialect option: the SSE stream asks for ``agentstream`` (not the endpoint's ag-ui)."""
    result = run(
        page,
        """
      const c = blocked({ dialect: '' });
      const r = c.start('summarize', {text: 'p'});
      await failSockets(2);
      await until(() => FakeSource.all.length === 1);
      source().send({type: 'RUN_STARTED', runId: 'R1', seq: 1});
      source().send({type: 'TEXT_MESSAGE_CHUNK', delta: 'ok', runId: 'R1', seq: 2});
      source().send({type: 'RUN_FINISHED', result: 1, runId: 'R1', seq: 3});
      await r.finished;
      return [source().url.searchParams.get('dialect'), r.text, r.state];
    """,
    )
    assert result == ["agentstream", "ok", "finished"]
