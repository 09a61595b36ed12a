/**
 * Fallback mode: runs over HTTP and Server-Sent Events when WebSockets cannot open (a proxy that
 * refuses the upgrade, or accepts it and closes at once, as seed 002 saw behind one).
 *
 * - start: `POST /api/runs` (the same JSON as the socket's start message), then follow the run;
 * - follow: an `EventSource` on `/api/runs/{id}/events` in the client's dialect. The browser
 *   reconnects it by itself after a drop and sends `Last-Event-ID` (the last `seq`), so a
 *   resume loses and repeats nothing; if the browser gives up, we reopen it with `lastEventId`;
 * - cancel: `POST /api/runs/{id}/cancel` (closing the stream would be a disconnect, not a stop);
 * - request/reply actions: `POST /api/invoke`.
 *
 * The frames are the socket's frames, fed to the same handler, so a run cannot tell the two
 * transports apart. {@link AgentStream} decides when to use this (see connection.js).
 * @module agentstream/sse
 */

import { AgentStreamError } from "./answers.js";
import { backoffDelay } from "./status.js";

/** Reopen a stream the browser gave up on at most this many times in a row. */
const MAX_REOPENS = 6;

/** Runs over HTTP + SSE for one {@link import("./client.js").AgentStream}. */
export class SseTransport {
  /** @param {import("./client.js").AgentStream} client */
  constructor(client) {
    this.client = client;
    /** @type {Map<string, EventSource>} one stream per followed run */
    this.streams = new Map();
    /** @type {Set<import("./run.js").Run>} runs whose start POST has not been answered yet */
    this.starting = new Set();
  }

  /**
   * An HTTP URL on the server the socket would have dialled: same host and prefix, plus `params`
   * (identity rides the cookie, as on the socket).
   * @param {string} path e.g. `/api/runs`
   * @param {Record<string, string | number | undefined>} [params]
   */
  url(path, params = {}) {
    const socket = new URL(this.client.socketUrl);
    const url = new URL(socket.toString());
    url.protocol = socket.protocol === "wss:" ? "https:" : "http:";
    url.pathname = socket.pathname.replace(/\/ws(\/chat)?\/?$/, "") + path;
    url.search = "";
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  async _post(path, body, params = {}) {
    const response = await this.client.options.fetch(this.url(path, params), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, answer };
  }

  /** Start `run` over HTTP and follow it. @param {import("./run.js").Run} run */
  async start(run) {
    const client = this.client;
    this.starting.add(run);
    let reply;
    try {
      reply = await this._post("/api/runs", { action: run.action, ...run.payload, requestId: run.requestId });
    } catch {
      // The request never got an answer: the run stays pending and goes out again when we can.
      this.starting.delete(run);
      setTimeout(() => client._canSend() && client.pendingRuns.has(run) && client._sendStart(run), 1000);
      return;
    }
    this.starting.delete(run);
    client.pendingRuns.delete(run);
    if (!reply.ok) {
      const { message, code } = reply.answer;
      run._fail(String(message ?? `the server answered ${reply.status}`), String(code ?? "error"));
      return;
    }
    run.id = String(reply.answer.runId);
    client.runs.set(run.id, run);
    client.dispatchEvent(new CustomEvent("run", { detail: { run } }));
    this.follow(run);
    if (run.cancelRequested) this.cancel(run);
  }

  /**
   * Stream `run` from after its `lastSeq` (a resume when it is not 0).
   * @param {import("./run.js").Run} run
   * @param {number} [reopens=0] times in a row the stream had to be reopened by hand
   */
  follow(run, reopens = 0) {
    if (!run.id || run.done) return;
    this.stop(run.id);
    const EventSourceImpl = this.client.options.EventSource;
    const url = this.url(`/api/runs/${encodeURIComponent(run.id)}/events`, {
      // The SSE endpoint's own default is `ag-ui`, which this client does not read: without a
      // dialect of its own the page gets the canonical frames (normalizeFrame reads both).
      dialect: this.client.options.dialect || "agentstream", lastEventId: run.lastSeq || undefined,
    });
    const source = new EventSourceImpl(url);
    this.streams.set(run.id, source);
    source.onmessage = (e) => {
      reopens = 0;
      this.client._handleData(e.data);
      if (run.done) this.stop(run.id);
    };
    source.onerror = () => {
      // CONNECTING: the browser reconnects by itself, with Last-Event-ID. CLOSED: it gave up.
      if (source.readyState !== 2 || this.streams.get(run.id) !== source) return;
      this.streams.delete(run.id);
      if (run.done || !this.client.fallback) return;
      if (reopens >= MAX_REOPENS) {
        run._fail("The event stream could not be reopened.", "disconnected");
        return;
      }
      const delay = backoffDelay(reopens, this.client.options.backoff);
      setTimeout(() => this.client.fallback && this.follow(run, reopens + 1), delay);
    };
  }

  /** Ask the server to stop `run`. @param {import("./run.js").Run} run */
  async cancel(run) {
    if (!run.id) return; // start() sends it once the run has an id
    try {
      const reply = await this._post(`/api/runs/${encodeURIComponent(run.id)}/cancel`, {});
      if (reply.answer.state === "unknown") run._fail("Cancelled", "cancelled");
    } catch {
      // No answer: cancelRequested stays set and the next live socket sends it again.
    }
  }

  /** A request/reply action over `POST /api/invoke`. @param {import("./answers.js").PendingReply} reply */
  async reply(reply) {
    let answer;
    try {
      answer = await this._post("/api/invoke", { action: reply.action, ...reply.payload },
                                { dialect: this.client.options.dialect });
    } catch {
      answer = { ok: false, answer: { message: `${reply.action}: the request failed`, code: "disconnected" } };
    }
    clearTimeout(reply.timer);
    const body = answer.answer ?? {};
    if (answer.ok && body.type !== "error") {
      reply.resolve({ type: `${reply.action}_result`, requestId: reply.requestId, ...body });
    } else {
      reply.reject(new AgentStreamError(String(body.message ?? "error"), String(body.code ?? "error")));
    }
  }

  /** Stop following the run `runId`. @param {string} runId */
  stop(runId) {
    this.streams.get(runId)?.close();
    this.streams.delete(runId);
  }

  /** Close every stream (back on a WebSocket, or closed for good). */
  closeAll() {
    for (const source of this.streams.values()) source.close();
    this.streams.clear();
  }
}
