/**
 * The client: runs and request/reply actions over one {@link Connection}, each message paired
 * with its answer by `requestId` (see answers.js).
 * @module agentstream/client
 */

import { AgentStreamError, Answers } from "./answers.js";
import { Connection } from "./connection.js";
import { normalizeFrame } from "./frames.js";
import { Run } from "./run.js";
import { SseTransport } from "./sse.js";
import { nextRequestId } from "./status.js";

/**
 * A WebSocket connection to an agentstream server (over HTTP and SSE while WebSockets are
 * blocked: fallback mode, see connection.js and sse.js).
 *
 * Events: `status` ({@link import("./connection.js").StatusDetail}), `run` (a run started:
 * `detail.run`), `message` (every parsed frame: `detail.frame`), `error` (an error frame tied to
 * no request).
 */
export class AgentStream extends Connection {
  /** @param {import("./connection.js").AgentStreamOptions} [options] */
  constructor(options = {}) {
    super(options);
    /** @type {Map<string, Run>} runs that have an id and have not ended */
    this.runs = new Map();
    /** @type {Set<Run>} runs sent (or to be sent) that the server has not acknowledged yet */
    this.pendingRuns = new Set();
    /** Messages sent on the current socket that await their answer. */
    this._answers = new Answers();
    /** @type {Array<import("./answers.js").PendingReply>} replies asked for while no socket was open */
    this._outbox = [];
    /** Runs, cancels and replies over HTTP + SSE while in fallback mode. */
    this._sse = new SseTransport(this);
    if (options.autoConnect ?? true) this.connect();
  }

  /**
   * Start a streamed run: sends `{action, ...payload, requestId}` (now or once connected).
   * @param {string} action
   * @param {Record<string, unknown>} [payload]
   * @returns {Run}
   */
  start(action, payload = {}) {
    const run = new Run(this, action, payload);
    this.pendingRuns.add(run);
    if (this._canSend()) this._sendStart(run);
    return run;
  }

  /**
   * Follow a run started elsewhere (another tab, before a page reload) from `lastSeq`.
   * @param {string} runId
   * @param {number} [lastSeq=0] 0 replays the whole run
   * @param {string} [action]
   * @returns {Run}
   */
  resume(runId, lastSeq = 0, action = "") {
    const existing = this.runs.get(runId);
    if (existing) return existing;
    const run = new Run(this, action, {}, { runId, lastSeq });
    this.runs.set(runId, run);
    if (this._canSend()) this._resumeRun(run);
    return run;
  }

  /**
   * Send a request/reply action and wait for its answer (`<action>_result` with its requestId).
   * Rejects with an `AgentStreamError` on an error frame, a timeout, or a drop before the answer.
   * @param {string} action
   * @param {Record<string, unknown>} [payload]
   * @returns {Promise<Record<string, any>>}
   */
  request(action, payload = {}) {
    return new Promise((resolve, reject) => {
      /** @type {import("./answers.js").PendingReply} */
      const reply = { action, payload, requestId: nextRequestId(), resolve, reject, timer: 0 };
      reply.timer = setTimeout(() => {
        this._outbox = this._outbox.filter((r) => r !== reply);
        this._answers.remove((a) => a.reply === reply);
        reject(new AgentStreamError(`${action}: no answer within ${this.options.requestTimeoutMs} ms`, "timeout"));
      }, this.options.requestTimeoutMs);
      if (this._canSend()) this._sendReply(reply);
      else this._outbox.push(reply);
    });
  }

  /** Close for good (the socket, or the SSE streams in fallback mode). */
  close() {
    this._sse.closeAll();
    super.close();
  }

  // -- sending ---------------------------------------------------------------------------------

  /** Whether work can go out now: on a live socket, or over HTTP in fallback mode. */
  _canSend() {
    return this._isOpen() || this.fallback;
  }

  /** Send `message` with a requestId and remember what awaits its answer. */
  _send(message, waiting) {
    if (!this._isOpen()) return false;
    const requestId = waiting.requestId ?? nextRequestId();
    this._answers.add({ ...waiting, requestId });
    this.socket.send(JSON.stringify({ ...message, requestId }));
    return true;
  }

  _sendStart(run) {
    if (run.cancelRequested) {
      // Stopped before the server ever heard of it: nothing to cancel there.
      this.pendingRuns.delete(run);
      run._fail("Cancelled before it started", "cancelled");
      return;
    }
    if (this.fallback) return void this._sse.start(run);
    this._send({ action: run.action, ...run.payload }, { action: run.action, requestId: run.requestId, run });
  }

  _sendReply(reply) {
    if (this.fallback) return void this._sse.reply(reply);
    this._send({ action: reply.action, ...reply.payload }, { action: reply.action, requestId: reply.requestId, reply });
  }

  _resumeRun(run) {
    if (!run.id || run.done) return;
    if (this.fallback) return void this._sse.follow(run);
    run._awaitingResume = true;
    this._send({ action: "resume", runId: run.id, lastSeq: run.lastSeq }, { action: "resume", run });
  }

  _sendCancel(run) {
    if (this.fallback) return void this._sse.cancel(run);
    this._send({ action: "cancel", runId: run.id }, { action: "cancel", run });
  }

  _cancel(run) {
    if (!run.id) {
      // Not acknowledged yet: the cancel goes out as soon as the run id is known.
      if (!this._answers.some((a) => a.run === run) && !this._sse.starting.has(run)) {
        this.pendingRuns.delete(run);
        run._fail("Cancelled before it started", "cancelled");
      }
      return;
    }
    this._sendCancel(run);
  }

  _ping() {
    this._send({ action: "ping" }, { action: "ping" });
  }

  _forget(run) {
    this.pendingRuns.delete(run);
    if (run.id && this.runs.get(run.id) === run) this.runs.delete(run.id);
  }

  // -- connection hooks ------------------------------------------------------------------------

  _onLive() {
    // Resume what was in flight, then send what never got an answer, in the order it was made.
    for (const run of this.runs.values()) {
      run.resumes += 1;
      this._resumeRun(run);
      if (run.cancelRequested) this._sendCancel(run);
    }
    for (const run of [...this.pendingRuns]) {
      // A `status` listener may already have sent it on this socket.
      if (!this._answers.some((a) => a.run === run) && !this._sse.starting.has(run)) this._sendStart(run);
    }
    const outbox = this._outbox;
    this._outbox = [];
    for (const reply of outbox) this._sendReply(reply);
  }

  _onFallback() {
    // Same as a new socket: follow what was in flight, then send what never got an answer.
    this._onLive();
  }

  _onFallbackEnd() {
    this._sse.closeAll();
  }

  _onFrame(frame) {
    const event = normalizeFrame(frame);
    if (event) this._runFrame(frame, event);
    else this._controlFrame(frame);
  }

  _onDropped() {
    // Answers that will never come: the socket they were sent on is gone.
    for (const entry of this._answers.drain()) {
      if (entry.reply) {
        clearTimeout(entry.reply.timer);
        entry.reply.reject(new AgentStreamError(`${entry.action}: the connection dropped before the answer`, "disconnected"));
      }
      // Runs stay in pendingRuns (re-sent on open) or in runs (resumed on open).
    }
    for (const run of this.runs.values()) run._awaitingResume = false;
  }

  _onRefused(code) {
    for (const run of [...this.runs.values(), ...this.pendingRuns]) {
      run._fail(`The server refused the connection (close code ${code}).`, "refused");
    }
  }

  // -- receiving -------------------------------------------------------------------------------

  /** @param {Record<string, any>} frame @param {import("./frames.js").RunEvent} event */
  _runFrame(frame, event) {
    let run = frame.runId ? this.runs.get(frame.runId) : undefined;
    if (!run && event.kind === "started") {
      const entry = this._answers.take(frame, (a) => !!a.run && !a.run.id && a.action !== "resume", event.requestId);
      if (entry?.run) {
        run = entry.run;
        run.id = frame.runId;
        this.pendingRuns.delete(run);
        this.runs.set(run.id, run);
        if (run.cancelRequested) this._sendCancel(run);
        this.dispatchEvent(new CustomEvent("run", { detail: { run } }));
      }
    }
    run?._apply(event);
  }

  _controlFrame(frame) {
    const type = String(frame.type ?? "");
    if (type === "resume") return this._resumeAnswer(frame);
    if (type === "cancel") {
      this._answers.take(frame, (a) => a.action === "cancel" && (!frame.runId || a.run?.id === frame.runId));
      const run = this.runs.get(frame.runId);
      if (run && frame.state === "unknown") run._fail("Cancelled", "cancelled");
      return;
    }
    if (type === "pong") return void this._answers.take(frame, (a) => a.action === "ping");
    if (type === "error" || type === "RUN_ERROR") return this._errorAnswer(frame);
    if (type.endsWith("_result")) {
      const action = type.slice(0, -"_result".length);
      const entry = this._answers.take(frame, (a) => a.action === action && !!a.reply);
      if (entry?.reply) {
        clearTimeout(entry.reply.timer);
        entry.reply.resolve(frame);
      }
    }
  }

  _resumeAnswer(frame) {
    this._answers.take(frame, (a) => a.action === "resume" && (!frame.runId || a.run?.id === frame.runId));
    const run = this.runs.get(frame.runId);
    if (!run) return;
    if (frame.state === "unknown") {
      run._fail("The server no longer knows this run (it ended long ago or the server restarted).", "run_lost");
    } else if (frame.state === "expired") {
      run._fail(frame.message || "The missed part of this run is no longer kept.", "expired");
    } else {
      run._awaitingResume = false;
      run._emit("resumed", { kind: "resumed", state: frame.state });
    }
  }

  _errorAnswer(frame) {
    // An error tied to no run answers the message whose requestId it carries.
    const entry = this._answers.take(frame, () => true);
    const error = new AgentStreamError(String(frame.message ?? "error"), String(frame.code ?? "error"));
    if (entry?.reply) {
      clearTimeout(entry.reply.timer);
      entry.reply.reject(error);
    } else if (entry?.run && !entry.run.id) {
      this.pendingRuns.delete(entry.run);
      entry.run._fail(error.message, error.code);
    } else {
      this.dispatchEvent(new CustomEvent("error", { detail: { message: error.message, code: error.code } }));
    }
  }
}
