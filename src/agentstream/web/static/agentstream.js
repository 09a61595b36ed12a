/**
 * agentstream.js — the browser client for agentstream servers.
 *
 * A dependency-free ES module (no build step). One {@link AgentStream} holds one WebSocket and:
 *
 * - reports a connection status: `connecting` → `live` → `reconnecting` → `offline`;
 * - reconnects after a drop with exponential backoff and jitter ({@link backoffDelay});
 * - resumes every in-flight run from the last `seq` it saw, so a drop loses nothing and
 *   duplicates nothing;
 * - multiplexes several runs on one socket ({@link Run}), each cancellable;
 * - sends request/reply actions (`logcall` → `logcall_result`) as promises.
 *
 * It understands both the `agentstream` dialect (AG-UI-shaped frames) and seed dialects such as
 * `calledit`; {@link normalizeFrame} maps either onto one small event vocabulary.
 *
 * @example
 * import { AgentStream } from "/static/agentstream.js";
 * const client = new AgentStream({ dialect: "calledit" });
 * client.addEventListener("status", (e) => console.log(e.detail.status));
 * const run = client.start("makecall", { prompt: "It will rain tomorrow", timezone: "UTC" });
 * run.on("text", (e) => output.append(e.detail.delta));
 * run.on("complete", (e) => render(e.detail.result));
 * await run.finished;
 *
 * @module agentstream
 */

/** Connection states, in the order a healthy connection meets them. */
export const Status = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
});

/** Run states. `pending` until the server acknowledges the request with the run's first frame. */
export const RunState = Object.freeze({
  PENDING: "pending",
  RUNNING: "running",
  FINISHED: "finished",
  FAILED: "failed",
  CANCELLED: "cancelled",
});

/**
 * @typedef {Object} BackoffOptions
 * @property {number} [initialMs=500] delay before the first retry
 * @property {number} [maxMs=15000] the delay never grows past this
 * @property {number} [factor=2] growth per attempt
 * @property {number} [jitter=0.5] fraction of the delay that is randomised (0 = none, 1 = "full jitter")
 */

/** @type {Required<BackoffOptions>} */
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 500, maxMs: 15000, factor: 2, jitter: 0.5 });

/**
 * The delay before reconnect attempt `attempt` (0-based).
 *
 * The ceiling grows as `initialMs * factor ** attempt`, capped at `maxMs`; the delay is drawn
 * uniformly from `[ceiling * (1 - jitter), ceiling]`. Jitter spreads the reconnects of many tabs
 * after a server restart, so they do not arrive as one thundering herd.
 *
 * @param {number} attempt 0 for the first retry
 * @param {BackoffOptions} [options]
 * @param {() => number} [random] a source of numbers in [0, 1) (tests pass their own)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { initialMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const n = Math.max(0, Math.floor(attempt));
  const ceiling = Math.min(maxMs, initialMs * Math.pow(factor, n));
  const spread = Math.min(1, Math.max(0, jitter));
  return Math.round(ceiling * (1 - spread * random()));
}

/**
 * A stable, anonymous id for this browser, kept in `localStorage` under `key`.
 * Runs belong to a user: resuming from another socket needs the same id.
 *
 * @param {string} [key]
 * @param {Storage} [storage]
 * @returns {string}
 */
export function browserUserId(key = "agentstream.user", storage = globalThis.localStorage) {
  try {
    const known = storage?.getItem(key);
    if (known) return known;
    const id = "u_" + randomId();
    storage?.setItem(key, id);
    return id;
  } catch {
    // Storage can be blocked (private mode, sandboxed iframes): an id per page still works.
    return "u_" + randomId();
  }
}

function randomId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID().replaceAll("-", "");
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

// -- frames ------------------------------------------------------------------------------------

/**
 * @typedef {Object} ToolCall
 * @property {string} id
 * @property {string} name
 * @property {unknown} input
 * @property {"running"|"success"|"error"} status
 * @property {string} [result] the tool's output text, once it returned
 */

/**
 * One run event, whatever the dialect.
 * @typedef {(
 *   {kind: "started", requestId?: string} |
 *   {kind: "text", delta: string} |
 *   {kind: "tool", id: string, name: string, input: unknown} |
 *   {kind: "tool_result", id: string, name: string, content: string, status: string} |
 *   {kind: "status", status: string, step?: string} |
 *   {kind: "state", snapshot: unknown} |
 *   {kind: "state_delta", delta: JsonPatchOp[]} |
 *   {kind: "custom", name: string, value: unknown} |
 *   {kind: "complete", result: unknown} |
 *   {kind: "error", message: string, code: string}
 * ) & {runId?: string, seq?: number}} RunEvent
 */

/** @typedef {{op: string, path: string, value?: unknown, from?: string}} JsonPatchOp */

function parseMaybeJson(value) {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) return value;
  try {
    return JSON.parse(text);
  } catch {
    return value;
  }
}

/**
 * Map one server frame of a run (either dialect) to a {@link RunEvent}; null for control frames.
 *
 * @param {Record<string, any>} frame
 * @returns {RunEvent | null}
 */
export function normalizeFrame(frame) {
  if (!frame || typeof frame !== "object" || typeof frame.seq !== "number") return null;
  const base = { runId: frame.runId, seq: frame.seq };
  switch (frame.type) {
    // calledit (seed) dialect
    case "status":
      if (frame.status === "started") return { ...base, kind: "started", requestId: frame.requestId };
      return { ...base, kind: "status", status: String(frame.status), step: frame.step };
    case "text":
      return { ...base, kind: "text", delta: String(frame.content ?? "") };
    case "tool":
      return { ...base, kind: "tool", id: String(frame.id ?? frame.name), name: String(frame.name),
               input: frame.input ?? {} };
    case "tool_result":
      return { ...base, kind: "tool_result", id: String(frame.id ?? frame.name),
               name: String(frame.name ?? ""), content: String(frame.content ?? ""),
               status: String(frame.status ?? "success") };
    case "complete":
      // The seed sent its record as a JSON string; ours sends an object. Accept both.
      return { ...base, kind: "complete", result: parseMaybeJson(frame.content) };
    case "error":
      return { ...base, kind: "error", message: String(frame.message ?? "error"),
               code: String(frame.code ?? "error") };
    case "state":
      return { ...base, kind: "state", snapshot: frame.snapshot };
    case "state_delta":
      return { ...base, kind: "state_delta", delta: frame.delta ?? [] };
    // agentstream (AG-UI-shaped) dialect
    case "RUN_STARTED":
      return { ...base, kind: "started", requestId: frame.input?.requestId ?? frame.requestId };
    case "TEXT_MESSAGE_CHUNK":
    case "TEXT_MESSAGE_CONTENT":
      return { ...base, kind: "text", delta: String(frame.delta ?? "") };
    case "TOOL_CALL_CHUNK":
    case "TOOL_CALL_START":
      return { ...base, kind: "tool", id: String(frame.toolCallId), name: String(frame.toolCallName),
               input: parseMaybeJson(frame.delta ?? "{}") };
    case "TOOL_CALL_RESULT":
      return { ...base, kind: "tool_result", id: String(frame.toolCallId),
               name: String(frame.toolCallName ?? ""), content: String(frame.content ?? ""),
               status: String(frame.status ?? "success") };
    case "STEP_STARTED":
      return { ...base, kind: "status", status: "step_started", step: frame.stepName };
    case "STEP_FINISHED":
      return { ...base, kind: "status", status: "step_finished", step: frame.stepName };
    case "STATE_SNAPSHOT":
      return { ...base, kind: "state", snapshot: frame.snapshot };
    case "STATE_DELTA":
      return { ...base, kind: "state_delta", delta: frame.delta ?? [] };
    case "CUSTOM":
      if (frame.name === "status") {
        // A status value may be a word ("complete") or an object ({message, ...}); keep both.
        const word = typeof frame.value === "string" ? frame.value : String(frame.value?.status ?? frame.value?.message ?? "status");
        return { ...base, kind: "status", status: word, value: frame.value };
      }
      return { ...base, kind: "custom", name: String(frame.name), value: frame.value };
    case "RUN_FINISHED":
      return { ...base, kind: "complete", result: frame.result };
    case "RUN_ERROR":
      return { ...base, kind: "error", message: String(frame.message ?? "error"),
               code: String(frame.code ?? "error") };
    default:
      // A seed dialect renders app events as {type: name, value}.
      return { ...base, kind: "custom", name: String(frame.type), value: frame.value };
  }
}

/**
 * Apply an RFC 6902 JSON Patch (add, replace, remove, move, copy, test) to a copy of `doc`.
 *
 * @param {unknown} doc
 * @param {JsonPatchOp[]} ops
 * @returns {unknown}
 */
export function applyPatch(doc, ops) {
  let root = structuredClone(doc ?? {});
  for (const op of ops) {
    const path = splitPointer(op.path);
    if (op.op === "test") continue;
    const value = op.op === "copy" || op.op === "move" ? structuredClone(getAt(root, splitPointer(op.from ?? ""))) : op.value;
    if (op.op === "move") root = setAt(root, splitPointer(op.from ?? ""), undefined, "remove");
    root = setAt(root, path, value, op.op === "remove" ? "remove" : op.op === "replace" ? "replace" : "add");
  }
  return root;
}

function splitPointer(pointer) {
  if (!pointer) return [];
  return pointer.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function getAt(doc, path) {
  return path.reduce((node, key) => (node == null ? undefined : node[key]), doc);
}

function setAt(root, path, value, mode) {
  if (path.length === 0) return mode === "remove" ? {} : value;
  const parent = getAt(root, path.slice(0, -1));
  if (parent == null || typeof parent !== "object") return root;
  const key = path[path.length - 1];
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : Number(key);
    if (mode === "remove") parent.splice(index, 1);
    else if (mode === "replace") parent[index] = value;
    else parent.splice(index, 0, value);
  } else if (mode === "remove") {
    delete parent[key];
  } else {
    parent[key] = value;
  }
  return root;
}

// -- runs --------------------------------------------------------------------------------------

let requestCounter = 0;
function nextRequestId() {
  requestCounter += 1;
  return `r${requestCounter}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * One streamed request. Listen with {@link Run#on}; read its accumulated state at any time.
 *
 * Events (each a `CustomEvent` whose `detail` is the {@link RunEvent}, plus `run`):
 * `started`, `text`, `tool`, `tool_result`, `status`, `state`, `custom`, `complete`, `error`,
 * `resumed` (after a reconnect, `detail.state` is the server's answer), and `end` (always last).
 */
export class Run extends EventTarget {
  /**
   * @param {AgentStream} client
   * @param {string} action
   * @param {Record<string, unknown>} payload
   * @param {{runId?: string, lastSeq?: number, requestId?: string}} [known]
   */
  constructor(client, action, payload, known = {}) {
    super();
    /** @type {AgentStream} */
    this.client = client;
    /** The action that started it (`makecall`). */
    this.action = action;
    /** What was sent with the action. */
    this.payload = payload;
    /** Matches the request to the server's first frame. */
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
    /** @type {unknown} the final result (`complete` / `RUN_FINISHED`) */
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
   * @param {RunEvent} event
   * @returns {boolean} false when the event was not applied
   */
  _apply(event) {
    if (this.done) return false;
    if (typeof event.seq === "number") {
      if (event.seq <= this.lastSeq) return false;
      if (event.seq > this.lastSeq + 1 && !this._awaitingResume) {
        // A gap: ask for what is missing; the replay carries this frame again.
        this.client._resumeRun(this);
        return false;
      }
      if (event.seq > this.lastSeq + 1) return false;
      this.lastSeq = event.seq;
    }
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
    this._emit(event.kind, event);
    if (this.done) this._end();
    return true;
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

// -- the client --------------------------------------------------------------------------------

/**
 * @typedef {Object} AgentStreamOptions
 * @property {string} [url] WebSocket URL; default `ws(s)://<this host>/ws`
 * @property {string} [user] the user id runs belong to; default {@link browserUserId}
 * @property {string} [dialect] wire format (`agentstream`, `calledit`…); default: the app's own
 * @property {BackoffOptions} [backoff]
 * @property {number} [offlineAfter=4] failed attempts before the status says `offline`
 *   (it keeps retrying at the backoff ceiling, and at once when the browser comes back online)
 * @property {number} [heartbeatMs=20000] ping this often; a ping unanswered for as long means
 *   the socket is dead (half-open connections never fire `close` on their own); 0 disables
 * @property {number} [requestTimeoutMs=15000] how long {@link AgentStream#request} waits
 * @property {boolean} [autoConnect=true] connect in the constructor
 * @property {typeof WebSocket} [WebSocket] a WebSocket implementation (tests pass a fake)
 */

/**
 * @typedef {Object} StatusDetail
 * @property {string} status one of {@link Status}
 * @property {number} attempt failed attempts since the last live connection
 * @property {number | null} retryAt epoch ms of the next attempt, while waiting for one
 * @property {number | null} closeCode the last close code seen
 */

/** Close codes after which retrying cannot help (the server refused this client). */
const FATAL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1009, 1010]);

/**
 * A WebSocket connection to an agentstream server.
 *
 * Events: `status` ({@link StatusDetail}), `run` (a run started or was resumed: `detail.run`),
 * `message` (every parsed frame: `detail.frame`), `error` (an error frame tied to no request).
 */
export class AgentStream extends EventTarget {
  /** @param {AgentStreamOptions} [options] */
  constructor(options = {}) {
    super();
    const loc = globalThis.location;
    const defaultUrl = loc ? `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws` : "";
    this.options = {
      url: options.url ?? defaultUrl,
      user: options.user ?? browserUserId(),
      dialect: options.dialect ?? "",
      backoff: { ...DEFAULT_BACKOFF, ...(options.backoff ?? {}) },
      offlineAfter: options.offlineAfter ?? 4,
      heartbeatMs: options.heartbeatMs ?? 20000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15000,
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
    };
    /** @type {string} one of {@link Status} */
    this.status = Status.CONNECTING;
    /** Failed attempts since the last successful open. */
    this.attempt = 0;
    /** @type {number | null} */
    this.retryAt = null;
    /** @type {number | null} */
    this.closeCode = null;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {Map<string, Run>} runs that have an id and have not ended */
    this.runs = new Map();
    /** @type {Set<Run>} runs sent (or to be sent) that the server has not acknowledged yet */
    this.pendingRuns = new Set();
    // Messages sent on the current socket that await their first answer. The gateway handles a
    // socket's messages one at a time, in order, and answers each exactly once first, so the
    // oldest entry owns the next answer that carries no requestId.
    /** @type {Array<{action: string, requestId?: string, run?: Run, reply?: PendingReply}>} */
    this._awaiting = [];
    /** @type {Array<PendingReply>} replies asked for while no socket was open */
    this._outbox = [];
    this._closedByUser = false;
    this._everLive = false;
    this._retryTimer = 0;
    this._heartbeatTimer = 0;
    this._lastFrameAt = 0;
    this._pingSentAt = 0;
    this._onOnline = () => this.retryNow();
    this._onVisible = () => {
      if (globalThis.document?.visibilityState === "visible" && this.status !== Status.LIVE) this.retryNow();
    };
    this._onOffline = () => {
      // The browser lost the network: an open socket is most likely half-open by now and would
      // only notice much later. Close it and say so; runs resume when the network is back.
      const socket = this.socket;
      if (socket && socket.readyState <= 1) {
        socket.close(4001, "browser offline");
        this._closed(socket, 4001);
      } else if (this.status !== Status.LIVE) {
        this._setStatus(Status.OFFLINE);
      }
    };
    this._listening = false;
    if (options.autoConnect ?? true) this.connect();
  }

  /** The URL actually dialled: `url` plus `user` and `dialect` query parameters. */
  get socketUrl() {
    const url = new URL(this.options.url, globalThis.location?.href);
    url.searchParams.set("user", this.options.user);
    if (this.options.dialect) url.searchParams.set("dialect", this.options.dialect);
    return url.toString();
  }

  /** Open the socket (again). Safe to call at any time. */
  connect() {
    const reopening = this._closedByUser;
    this._closedByUser = false;
    this._listen(true);
    clearTimeout(this._retryTimer);
    this.retryAt = null;
    if (this.socket && this.socket.readyState <= 1) return;
    // While retrying, the status stays "reconnecting"/"offline" until a socket opens.
    if (reopening || this.attempt === 0) this._setStatus(Status.CONNECTING);
    let socket;
    try {
      socket = new this.options.WebSocket(this.socketUrl);
    } catch (err) {
      this._scheduleRetry(null);
      return;
    }
    this.socket = socket;
    socket.onopen = () => this._opened(socket);
    socket.onmessage = (e) => this._received(socket, e.data);
    socket.onclose = (e) => this._closed(socket, e.code);
    // `error` is always followed by `close`, which does the work.
    socket.onerror = () => {};
  }

  /** Follow the browser's online/offline and visibility changes (or stop following them). */
  _listen(on) {
    if (on === this._listening) return;
    this._listening = on;
    const method = on ? "addEventListener" : "removeEventListener";
    globalThis[method]?.("online", this._onOnline);
    globalThis[method]?.("offline", this._onOffline);
    globalThis.document?.[method]?.("visibilitychange", this._onVisible);
  }

  /** Skip the backoff wait and try now (a "Retry now" button; also on `online`). */
  retryNow() {
    if (this._closedByUser) return;
    if (this.socket && this.socket.readyState <= 1) return;
    this.connect();
  }

  /** Close for good: no reconnect; runs keep going on the server and can be resumed later. */
  close() {
    this._closedByUser = true;
    clearTimeout(this._retryTimer);
    this._listen(false);
    this._stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "client closed");
    this._dropAwaiting();
    this._setStatus(Status.OFFLINE);
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
    if (this._isOpen()) this._sendStart(run);
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
    if (this._isOpen()) this._resumeRun(run);
    return run;
  }

  /**
   * Send a request/reply action and wait for its answer (`<action>_result`).
   * Rejects with an `AgentStreamError` on an error frame, a timeout, or a drop before the answer.
   * @param {string} action
   * @param {Record<string, unknown>} [payload]
   * @returns {Promise<Record<string, any>>}
   */
  request(action, payload = {}) {
    return new Promise((resolve, reject) => {
      /** @type {PendingReply} */
      const reply = { action, payload, requestId: nextRequestId(), resolve, reject, timer: 0 };
      reply.timer = setTimeout(() => {
        this._removeReply(reply);
        reject(new AgentStreamError(`${action}: no answer within ${this.options.requestTimeoutMs} ms`, "timeout"));
      }, this.options.requestTimeoutMs);
      if (this._isOpen()) this._sendReply(reply);
      else this._outbox.push(reply);
    });
  }

  // -- sending ---------------------------------------------------------------------------------

  _isOpen() {
    return !!this.socket && this.socket.readyState === 1 && this.status === Status.LIVE;
  }

  _send(message, awaiting) {
    if (!this._isOpen()) return false;
    this.socket.send(JSON.stringify(message));
    this._awaiting.push(awaiting);
    return true;
  }

  _sendStart(run) {
    if (run.cancelRequested) {
      // Stopped before the server ever heard of it: nothing to cancel there.
      this.pendingRuns.delete(run);
      run._fail("Cancelled before it started", "cancelled");
      return;
    }
    this._send({ action: run.action, ...run.payload, requestId: run.requestId },
               { action: run.action, requestId: run.requestId, run });
  }

  _sendReply(reply) {
    this._send({ action: reply.action, ...reply.payload, requestId: reply.requestId },
               { action: reply.action, requestId: reply.requestId, reply });
  }

  _resumeRun(run) {
    if (!run.id || run.done) return;
    run._awaitingResume = true;
    this._send({ action: "resume", runId: run.id, lastSeq: run.lastSeq }, { action: "resume", run });
  }

  _cancel(run) {
    if (!run.id) {
      // Not acknowledged yet: the cancel goes out as soon as the run id is known.
      if (!this._awaiting.some((a) => a.run === run)) {
        this.pendingRuns.delete(run);
        run._fail("Cancelled before it started", "cancelled");
      }
      return;
    }
    this._send({ action: "cancel", runId: run.id }, { action: "cancel", run });
  }

  _removeReply(reply) {
    this._outbox = this._outbox.filter((r) => r !== reply);
    this._awaiting = this._awaiting.filter((a) => a.reply !== reply);
  }

  _forget(run) {
    this.pendingRuns.delete(run);
    if (run.id && this.runs.get(run.id) === run) this.runs.delete(run.id);
  }

  // -- receiving -------------------------------------------------------------------------------

  _opened(socket) {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.retryAt = null;
    this._everLive = true;
    this._awaiting = [];
    this._lastFrameAt = Date.now();
    this._setStatus(Status.LIVE);
    this._startHeartbeat();
    // Resume what was in flight, then send what never got an answer, in the order it was made.
    for (const run of this.runs.values()) {
      run.resumes += 1;
      this._resumeRun(run);
      if (run.cancelRequested) this._send({ action: "cancel", runId: run.id }, { action: "cancel", run });
    }
    for (const run of [...this.pendingRuns]) this._sendStart(run);
    const outbox = this._outbox;
    this._outbox = [];
    for (const reply of outbox) this._sendReply(reply);
  }

  _received(socket, data) {
    if (socket !== this.socket) return;
    this._lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    this.dispatchEvent(new CustomEvent("message", { detail: { frame } }));
    const event = normalizeFrame(frame);
    if (event) this._runFrame(frame, event);
    else this._controlFrame(frame);
  }

  /** @param {Record<string, any>} frame @param {RunEvent} event */
  _runFrame(frame, event) {
    let run = frame.runId ? this.runs.get(frame.runId) : undefined;
    if (!run && event.kind === "started") {
      const entry = this._takeAnswer(event.requestId, (a) => !!a.run && !a.run.id && a.action !== "resume");
      if (entry?.run) {
        run = entry.run;
        run.id = frame.runId;
        this.pendingRuns.delete(run);
        this.runs.set(run.id, run);
        if (run.cancelRequested) this._send({ action: "cancel", runId: run.id }, { action: "cancel", run });
        this.dispatchEvent(new CustomEvent("run", { detail: { run } }));
      }
    }
    run?._apply(event);
  }

  _controlFrame(frame) {
    switch (frame.type) {
      case "resume": {
        const run = this.runs.get(frame.runId);
        if (frame.state !== "expired") this._takeAnswer(undefined, (a) => a.action === "resume");
        if (!run) return;
        if (frame.state === "unknown") {
          run._fail("The server no longer knows this run (it ended long ago or the server restarted).", "run_lost");
        } else if (frame.state === "expired") {
          run._fail(frame.message || "The missed part of this run is no longer kept.", "expired");
        } else {
          run._awaitingResume = false;
          run._emit("resumed", { kind: "resumed", state: frame.state });
        }
        return;
      }
      case "cancel": {
        this._takeAnswer(undefined, (a) => a.action === "cancel");
        const run = this.runs.get(frame.runId);
        if (run && frame.state === "unknown") run._fail("Cancelled", "cancelled");
        return;
      }
      case "pong":
        this._takeAnswer(frame.requestId, (a) => a.action === "ping");
        return;
      case "error":
      case "RUN_ERROR": {
        // An error tied to no run answers the oldest message still waiting (see _awaiting).
        const entry = this._takeAnswer(frame.requestId, () => true);
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
        return;
      }
      default:
        if (typeof frame.type === "string" && frame.type.endsWith("_result")) {
          const action = frame.type.slice(0, -"_result".length);
          const entry = this._takeAnswer(frame.requestId, (a) => a.action === action);
          if (entry?.reply) {
            clearTimeout(entry.reply.timer);
            entry.reply.resolve(frame);
          }
        }
    }
  }

  /**
   * Remove and return the message that `requestId` answers, else the oldest one `accepts`.
   * Entries older than the answered one are answered too (their answers were lost), so drop them.
   */
  _takeAnswer(requestId, accepts) {
    let index = requestId ? this._awaiting.findIndex((a) => a.requestId === requestId) : -1;
    if (index < 0) index = this._awaiting.findIndex(accepts);
    if (index < 0) return undefined;
    const [entry] = this._awaiting.splice(index, 1);
    return entry;
  }

  _closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.closeCode = code;
    this._stopHeartbeat();
    this._dropAwaiting();
    if (this._closedByUser) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this._setStatus(Status.OFFLINE);
      for (const run of [...this.runs.values(), ...this.pendingRuns]) {
        run._fail(`The server refused the connection (close code ${code}).`, "refused");
      }
      return;
    }
    this._scheduleRetry(code);
  }

  /** Forget answers that will never come: the socket they were sent on is gone. */
  _dropAwaiting() {
    const lost = this._awaiting;
    this._awaiting = [];
    for (const entry of lost) {
      if (entry.reply) {
        clearTimeout(entry.reply.timer);
        entry.reply.reject(new AgentStreamError(`${entry.action}: the connection dropped before the answer`, "disconnected"));
      }
      // Runs stay in pendingRuns (re-sent on open) or in runs (resumed on open).
    }
    for (const run of this.runs.values()) run._awaitingResume = false;
  }

  _scheduleRetry(code) {
    const delay = backoffDelay(this.attempt, this.options.backoff);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    const offline = this.attempt > this.options.offlineAfter || globalThis.navigator?.onLine === false;
    // Until the first success the client is still "connecting", not "reconnecting".
    const waiting = this._everLive ? Status.RECONNECTING : Status.CONNECTING;
    this._setStatus(offline ? Status.OFFLINE : waiting);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this.connect(), delay);
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    const every = this.options.heartbeatMs;
    if (!every) return;
    this._pingSentAt = 0;
    this._heartbeatTimer = setInterval(() => {
      const now = Date.now();
      // Dead only if a ping went unanswered: a background tab's timers are throttled to once a
      // minute, so plain silence on an idle socket proves nothing.
      if (this._pingSentAt && this._lastFrameAt < this._pingSentAt && now - this._pingSentAt > every) {
        // Half-open: the OS has not noticed the peer is gone. Close and reconnect ourselves.
        const socket = this.socket;
        socket?.close(4000, "heartbeat timeout");
        if (socket) this._closed(socket, 4000);
        return;
      }
      this._pingSentAt = now;
      this._send({ action: "ping" }, { action: "ping" });
    }, every);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
  }

  _setStatus(status) {
    if (status === this.status && (status === Status.LIVE || status === Status.CONNECTING)) return;
    this.status = status;
    /** @type {StatusDetail} */
    const detail = { status, attempt: this.attempt, retryAt: this.retryAt, closeCode: this.closeCode };
    this.dispatchEvent(new CustomEvent("status", { detail }));
  }
}

/**
 * @typedef {Object} PendingReply
 * @property {string} action
 * @property {Record<string, unknown>} payload
 * @property {string} requestId
 * @property {(frame: Record<string, any>) => void} resolve
 * @property {(error: AgentStreamError) => void} reject
 * @property {any} timer
 */

/** An error answer from the server (or a local one: `timeout`, `disconnected`). */
export class AgentStreamError extends Error {
  /** @param {string} message @param {string} code */
  constructor(message, code) {
    super(message);
    this.name = "AgentStreamError";
    /** A stable machine-readable code: `invalid_request`, `unknown_action`, `timeout`… */
    this.code = code;
  }
}
