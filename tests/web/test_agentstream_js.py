"""agentstream.js in real Chromium, against a scripted fake WebSocket: backoff, status, resume.

The module is served from disk on a made-up origin (``page.route``), so these tests need no
server; the fake socket lets each test play the server's side frame by frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import browser  # noqa: F401  (the session's Chromium)

STATIC = Path(__file__).resolve().parents[2] / "src" / "agentstream" / "web" / "static"
ORIGIN = "http://agentstream.test"

# Loaded before each test body: the module as `as`, a fake WebSocket the test drives, helpers.
HARNESS = """
const as = await import('/static/agentstream.js');
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url; this.readyState = 0; this.sent = []; FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code }), 0);
  }
  open() { this.readyState = 1; this.onopen?.({}); }
  receive(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}
const last = () => FakeSocket.all[FakeSocket.all.length - 1];
const until = async (check, what = 'condition') => {
  const deadline = performance.now() + 3000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 2));
  }
};
const client = (options = {}) => new as.AgentStream({
  url: 'ws://agentstream.test/ws', user: 'u1', dialect: 'calledit', WebSocket: FakeSocket,
  backoff: { initialMs: 1, maxMs: 4, jitter: 0 }, heartbeatMs: 0, ...options });
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    """A blank page on a fake origin that serves agentstream.js from the source tree."""
    ctx = browser.new_context()

    def fulfil(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            route.fulfill(
                path=str(STATIC / path.removeprefix("/static/")), content_type="text/javascript"
            )
        else:
            route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")

    ctx.route(f"{ORIGIN}/**", fulfil)
    page = ctx.new_page()
    page.goto(ORIGIN + "/")
    yield page
    ctx.close()


def js(page: Any, body: str) -> Any:
    """Run ``body`` (async JS with the harness in scope) and return its result."""
    return page.evaluate(f"async () => {{ {HARNESS}\n{body} }}")


def test_backoff_grows_exponentially_stays_within_jitter_and_caps(page: Any) -> None:
    """Each delay lies in [ceiling*(1-jitter), ceiling]; ceilings double up to maxMs."""
    result = js(
        page,
        """
      const opts = { initialMs: 500, maxMs: 15000, factor: 2, jitter: 0.5 };
      const rows = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        rows.push([as.backoffDelay(attempt, opts, () => 0),
                   as.backoffDelay(attempt, opts, () => 0.999999),
                   ...Array.from({ length: 200 }, () => as.backoffDelay(attempt, opts))]);
      }
      return { rows, full: as.backoffDelay(3, { jitter: 1 }, () => 0.999999) };
    """,
    )
    for attempt, (highest, lowest, *samples) in enumerate(result["rows"]):
        ceiling = min(15000, 500 * 2**attempt)
        assert highest == ceiling
        assert lowest == round(ceiling * 0.5)
        assert all(ceiling * 0.5 - 1 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 1  # jittered: reconnecting tabs do not arrive in lockstep
    assert result["rows"][-1][0] == 15000
    assert result["full"] == 0


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


def test_json_patch_builds_a_partial_record(page: Any) -> None:
    """state_delta patches (add, replace, remove, append) apply in order to a copy."""
    doc = js(
        page,
        """
      const start = {verification_method: {source: []}};
      const out = as.applyPatch(start, [
        {op: 'add', path: '/prediction_statement', value: 'x'},
        {op: 'add', path: '/verification_method/source/-', value: 'a'},
        {op: 'add', path: '/verification_method/source/-', value: 'b'},
        {op: 'replace', path: '/prediction_statement', value: 'y'},
        {op: 'remove', path: '/verification_method/source/0'},
      ]);
      return {out, start};
    """,
    )
    assert doc["out"] == {"verification_method": {"source": ["b"]}, "prediction_statement": "y"}
    assert doc["start"] == {"verification_method": {"source": []}}


def test_status_goes_connecting_live_reconnecting_then_offline(page: Any) -> None:
    """A drop shows reconnecting; retries past offlineAfter show offline; success is live."""
    statuses = js(
        page,
        """
      const c = client({ offlineAfter: 2 });
      const seen = [c.status];
      c.addEventListener('status', (e) => seen.push(e.detail.status));
      last().open();
      last().drop();
      for (let i = 0; i < 3; i++) {
        const n = FakeSocket.all.length;
        await until(() => FakeSocket.all.length > n, 'a retry');
        last().drop();
      }
      const n = FakeSocket.all.length;
      await until(() => FakeSocket.all.length > n, 'a retry');
      last().open();
      c.close();
      return seen;
    """,
    )
    assert statuses == [
        "connecting",
        "live",
        "reconnecting",
        "reconnecting",
        "offline",
        "offline",
        "live",
        "offline",
    ]


def test_a_refusing_server_goes_offline_without_retrying(page: Any) -> None:
    """Close code 1008 (policy) means retrying cannot help: offline, and runs fail 'refused'."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      last().drop(1008);
      await run.finished;
      await new Promise((r) => setTimeout(r, 20));
      return {status: c.status, sockets: FakeSocket.all.length, code: run.error.code};
    """,
    )
    assert result == {"status": "offline", "sockets": 1, "code": "refused"}


def test_resume_after_a_drop_asks_from_last_seq_and_drops_duplicates(page: Any) -> None:
    """After a reconnect the run resumes from its last seq; replayed frames apply exactly once."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p', timezone: 'UTC'});
      const sent = last().sent[0];
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1});
      last().receive({type: 'text', content: 'one ', runId: 'R', seq: 2});
      last().receive({type: 'text', content: 'two ', runId: 'R', seq: 3});
      last().drop();
      await until(() => FakeSocket.all.length === 2, 'the reconnect');
      last().open();
      const resume = last().sent[0];
      last().receive({type: 'resume', runId: 'R', state: 'running', lastSeq: 3});
      last().receive({type: 'text', content: 'two ', runId: 'R', seq: 3});
      last().receive({type: 'text', content: 'three', runId: 'R', seq: 4});
      last().receive({type: 'complete', content: {ok: true}, runId: 'R', seq: 5});
      await run.finished;
      return {sent, resume, text: run.text, state: run.state, resumes: run.resumes,
              result: run.result, open: c.runs.size};
    """,
    )
    assert result["sent"]["action"] == "makecall" and result["sent"]["requestId"]
    assert result["resume"] == {"action": "resume", "runId": "R", "lastSeq": 3}
    assert result["text"] == "one two three"
    assert result["state"] == "finished" and result["result"] == {"ok": True}
    assert result["resumes"] == 1 and result["open"] == 0


def test_a_gap_in_seq_asks_for_the_missing_frames(page: Any) -> None:
    """A frame that skips a seq is held back and a resume from the last seq is sent instead."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1});
      last().receive({type: 'text', content: 'c', runId: 'R', seq: 3});
      const asked = last().sent[1];
      last().receive({type: 'resume', runId: 'R', state: 'running', lastSeq: 1});
      last().receive({type: 'text', content: 'b', runId: 'R', seq: 2});
      last().receive({type: 'text', content: 'c', runId: 'R', seq: 3});
      return {asked, text: run.text, lastSeq: run.lastSeq};
    """,
    )
    assert result == {
        "asked": {"action": "resume", "runId": "R", "lastSeq": 1},
        "text": "bc",
        "lastSeq": 3,
    }


def test_unknown_run_on_resume_ends_it_as_lost(page: Any) -> None:
    """If the server forgot the run while we were away, the run ends with code run_lost."""
    code = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.resume('R', 7);
      last().receive({type: 'resume', runId: 'R', state: 'unknown', lastSeq: 7});
      await run.finished;
      return [run.state, run.error.code];
    """,
    )
    assert code == ["failed", "run_lost"]


def test_several_runs_share_one_socket(page: Any) -> None:
    """Runs match their started frame by requestId (or order) and keep their frames apart."""
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
      last().receive({type: 'status', status: 'started', runId: 'A', seq: 1});
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
      last().receive(
        {type: 'error', message: 'invalid request: prompt: too short', code: 'invalid_request'});
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
      last().receive({type: 'status', status: 'started', runId: 'R1', seq: 1});
      last().receive({type: 'logcall_result', call: {call_id: 'c1'}});
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
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1});
      const cancel = last().sent[1];
      last().receive({type: 'cancel', runId: 'R', state: 'cancelling', message: 'cancelling'});
      last().receive({type: 'error', message: 'Run cancelled by the user', code: 'cancelled',
                      runId: 'R', seq: 2});
      await run.finished;
      return {before, cancel, state: run.state};
    """,
    )
    assert result == {
        "before": 1,
        "cancel": {"action": "cancel", "runId": "R"},
        "state": "cancelled",
    }


def test_the_socket_url_carries_user_and_dialect(page: Any) -> None:
    """The client dials url?user=…&dialect=… so runs belong to this browser's user."""
    url = js(page, "client(); return last().url;")
    assert url == "ws://agentstream.test/ws?user=u1&dialect=calledit"


def test_the_browser_user_id_is_stable(page: Any) -> None:
    """browserUserId returns the same id on every call (it lives in localStorage)."""
    ids = js(
        page, "return [as.browserUserId('k'), as.browserUserId('k'), as.browserUserId('other')];"
    )
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("u_")


def test_a_server_down_from_the_start_reads_connecting_then_offline(page: Any) -> None:
    """Before the first success the status says connecting (not reconnecting), then offline."""
    statuses = js(
        page,
        """
      const c = client({ offlineAfter: 1 });
      const seen = [c.status];
      c.addEventListener('status', (e) => seen.push(e.detail.status));
      for (let i = 0; i < 2; i++) {
        const n = FakeSocket.all.length;
        last().drop();
        await until(() => FakeSocket.all.length > n, 'a retry');
      }
      last().open();
      c.close();
      c.connect();
      return seen;
    """,
    )
    assert statuses == ["connecting", "offline", "live", "offline", "connecting"]


def test_an_unanswered_ping_means_a_dead_socket(page: Any) -> None:
    """The heartbeat pings; a socket that answers stays, one that goes silent is replaced."""
    result = js(
        page,
        """
      const c = client({ heartbeatMs: 15 });
      last().open();
      const first = last();
      await until(() => first.sent.some((m) => m.action === 'ping'), 'a ping');
      first.receive({type: 'pong', requestId: null});
      await until(() => first.sent.filter((m) => m.action === 'ping').length >= 2, 'a second ping');
      await until(() => FakeSocket.all.length === 2, 'a new socket');
      const replaced = first.readyState;
      c.close();
      return {pings: first.sent.filter((m) => m.action === 'ping').length, replaced};
    """,
    )
    assert result["pings"] >= 2 and result["replaced"] == 3
