/**
 * One streamed request: its seq bookkeeping (exactly-once across resumes) and what it has
 * accumulated (text, tools, partial state, result).
 * @module agentstream/run
 */

import { applyPatch } from "./patch.js";
import { nextRequestId } from "./status.js";

/** Run states. `pending` until the server acknowledges the request with the run's first frame. */
export const RunState = Object.freeze({
  PENDING: "pending",
  RUNNING: "running",
  FINISHED: "finished",
  FAILED: "failed",
  CANCELLED: "cancelled",
});

/**
 * @typedef {Object} ToolCall
 * @property {string} id
 * @property {string} name
 * @property {unknown} input
 * @property {"running"|"success"|"error"} status
 * @property {string} [result] the tool's output text, once it returned
 */

/**
 * One streamed request. Listen with {@link Run#on}; read its accumulated state at any time.
 *
 * Events (each a `CustomEvent` whose `detail` is the run event, plus `run`):
 * `started`, `text`, `tool`, `tool_result`, `status`, `state`, `state_delta`, `custom`,
 * `complete`, `error`, `resumed` (after a reconnect, `detail.state` is the server's answer),
 * and `end` (always last).
 */
export class Run extends EventTarget {
  /**
   * @param {import("./client.js").AgentStream} client
   * @param {string} action
   * @param {Record<string, unknown>} payload
   * @param {{runId?: string, lastSeq?: number, requestId?: string}} [known]
   */
  constructor(client, action, payload, known = {}) {
    super();
    this.client = client;
    /** The action that started it (`makecall`). */
    this.action = action;
    /** What was sent with the action. */
    this.payload = payload;
    /** Sent with the start message; the server echoes it on the run's first frame. */
    this.requestId = known.requestId ?? nextRequestId();
    /** @type {string | null} the server's id, once the run started */
    this.id = known.runId ?? null;
    /** The highest `seq` received; a resume asks for what comes after it. */
    this.lastSeq = known.lastSeq ?? 0;
    /** @type {string} one of {@link RunState} */
    this.state = this.id ? RunState.RUNNING : RunState.PENDING;
    /** All text deltas so far, concatenated. */
    this.text = "";
    /** @type {Map<string, ToolCall>} tool calls by id, in the order they started */
    this.tools = new Map();
    /** @type {string} the latest `status` value (`started`, `complete`, a step…) */
    this.status = "";
    /** @type {unknown} the state from `state` / `state_delta` frames (a partial result) */
    this.snapshot = undefined;
    /** @type {unknown} the final result (`complete` / `RUN_FINISHED`); it wins over `snapshot` */
    this.result = undefined;
    /** @type {{message: string, code: string} | null} why it failed or stopped */
    this.error = null;
    /** True once {@link Run#cancel} was called. */
    this.cancelRequested = false;
    /** How many times it was resumed after a reconnect. */
    this.resumes = 0;
    this._awaitingResume = false;
    /** @type {Promise<Run>} settles (never rejects) when the run ends, however it ends */
    this.finished = new Promise((resolve) => {
      this._resolve = resolve;
    });
  }

  /** Whether the run has ended. */
  get done() {
    return this.state === RunState.FINISHED || this.state === RunState.FAILED ||
           this.state === RunState.CANCELLED;
  }

  /**
   * Listen to one event type; returns a function that removes the listener.
   * @param {string} type
   * @param {(event: CustomEvent) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    this.addEventListener(type, /** @type {EventListener} */ (listener));
    return () => this.removeEventListener(type, /** @type {EventListener} */ (listener));
  }

  /** Ask the server to stop the run (queued until the run has an id or the socket is back). */
  cancel() {
    if (this.done || this.cancelRequested) return;
    this.cancelRequested = true;
    this.client._cancel(this);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail: { ...detail, run: this } }));
  }

  /**
   * Take one frame's event. Frames at or below `lastSeq` are duplicates (a replay overlapping
   * what already arrived) and are dropped; that is what makes a resume exactly-once.
   * @param {import("./frames.js").RunEvent} event
   * @returns {boolean} false when the event was not applied
   */
  _apply(event) {
    if (this.done) return false;
    if (typeof event.seq === "number") {
      if (event.seq <= this.lastSeq) return false;
      // A merged text frame covers firstSeq..seq: a gap only if it starts past the next seq.
      if ((event.firstSeq ?? event.seq) > this.lastSeq + 1) {
        // A gap: ask for what is missing (once); the replay carries this frame again.
        if (!this._awaitingResume) this.client._resumeRun(this);
        return false;
      }
      this.lastSeq = event.seq;
    }
    this._update(event);
    this._emit(event.kind, event);
    if (this.done) this._end();
    return true;
  }

  /** Fold one event into what the run has accumulated. */
  _update(event) {
    switch (event.kind) {
      case "started":
        if (this.state === RunState.PENDING) this.state = RunState.RUNNING;
        break;
      case "text":
        this.text += event.delta;
        break;
      case "tool":
        this.tools.set(event.id, { id: event.id, name: event.name, input: event.input, status: "running" });
        break;
      case "tool_result": {
        const tool = this.tools.get(event.id) ?? { id: event.id, name: event.name, input: {} };
        this.tools.set(event.id, { ...tool, status: event.status === "error" ? "error" : "success",
                                   result: event.content });
        break;
      }
      case "status":
        this.status = event.status;
        break;
      case "state":
        this.snapshot = event.snapshot;
        break;
      case "state_delta":
        this.snapshot = applyPatch(this.snapshot, event.delta);
        break;
      case "complete":
        this.result = event.result;
        this.state = RunState.FINISHED;
        break;
      case "error":
        this.error = { message: event.message, code: event.code };
        this.state = event.code === "cancelled" ? RunState.CANCELLED : RunState.FAILED;
        break;
    }
  }

  /** End the run without a frame from the server (it forgot the run, or the log expired). */
  _fail(message, code) {
    if (this.done) return;
    this.error = { message, code };
    this.state = code === "cancelled" ? RunState.CANCELLED : RunState.FAILED;
    this._emit("error", { kind: "error", message, code, runId: this.id ?? undefined });
    this._end();
  }

  _end() {
    this.client._forget(this);
    this._emit("end", { kind: "end", state: this.state });
    this._resolve(this);
  }
}
