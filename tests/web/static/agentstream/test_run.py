"""One run's seq bookkeeping: resume, gaps, duplicates, loss (agentstream/run.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_resume_after_a_drop_asks_from_last_seq_and_drops_duplicates(page: Any) -> None:
    """After a reconnect the run resumes from its last seq; replayed frames apply exactly once."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p', timezone: 'UTC'});
      const sent = last().sent[0];
      last().receive(
        {type: 'status', status: 'started', runId: 'R', seq: 1, requestId: sent.requestId});
      last().receive({type: 'text', content: 'one ', runId: 'R', seq: 2});
      last().receive({type: 'text', content: 'two ', runId: 'R', seq: 3});
      last().drop();
      await until(() => FakeSocket.all.length === 2, 'the reconnect');
      last().open();
      const resume = last().sent[0];
      last().receive(
        {type: 'resume', runId: 'R', state: 'running', lastSeq: 3, requestId: resume.requestId});
      last().receive({type: 'text', content: 'two ', runId: 'R', seq: 3});
      last().receive({type: 'text', content: 'three', runId: 'R', seq: 4});
      last().receive({type: 'complete', content: {ok: true}, runId: 'R', seq: 5});
      await run.finished;
      return {sent, resume, text: run.text, state: run.state, resumes: run.resumes,
              result: run.result, open: c.runs.size};
    """,
    )
    assert result["sent"]["action"] == "makecall" and result["sent"]["requestId"]
    resume = result["resume"]
    assert resume.pop("requestId") not in ("", None, result["sent"]["requestId"])
    assert resume == {"action": "resume", "runId": "R", "lastSeq": 3}
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
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1,
                      requestId: last().sent[0].requestId});
      last().receive({type: 'text', content: 'c', runId: 'R', seq: 3});
      const asked = last().sent[1];
      last().receive(
        {type: 'resume', runId: 'R', state: 'running', lastSeq: 1, requestId: asked.requestId});
      last().receive({type: 'text', content: 'b', runId: 'R', seq: 2});
      last().receive({type: 'text', content: 'c', runId: 'R', seq: 3});
      return {asked, text: run.text, lastSeq: run.lastSeq};
    """,
    )
    assert result["asked"].pop("requestId")
    assert result == {
        "asked": {"action": "resume", "runId": "R", "lastSeq": 1},
        "text": "bc",
        "lastSeq": 3,
    }


def test_merged_text_covering_the_next_seqs_is_applied_without_a_resume(page: Any) -> None:
    """A frame with firstSeq = lastSeq + 1 covers its skipped seqs: applied, no resume asked."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      last().receive({type: 'status', status: 'started', runId: 'R', seq: 1,
                      requestId: last().sent[0].requestId});
      last().receive({type: 'text', content: 'abc', runId: 'R', seq: 4, firstSeq: 2});
      last().receive({type: 'text', content: 'd', runId: 'R', seq: 5});
      last().receive({type: 'text', content: 'x', runId: 'R', seq: 9, firstSeq: 7});
      return {sent: last().sent.length, asked: last().sent[1], text: run.text,
              lastSeq: run.lastSeq};
    """,
    )
    assert result["asked"].pop("requestId")
    assert result == {
        "sent": 2,
        "asked": {"action": "resume", "runId": "R", "lastSeq": 5},
        "text": "abcd",
        "lastSeq": 5,
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
