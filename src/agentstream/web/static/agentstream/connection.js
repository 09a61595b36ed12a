/**
 * One WebSocket kept open: status, reconnect with backoff, heartbeat, and the browser's
 * online/offline/visibility signals. Knows nothing of runs: {@link AgentStream} builds on it
 * through hooks (`_onLive`, `_onFrame`, `_onDropped`, `_onRefused`, `_onFallback`,
 * `_onFallbackEnd`) and `_ping`.
 *
 * Fallback mode: when `fallbackAfter` sockets in a row cannot open (or close within
 * `QUICK_CLOSE_MS` of opening) while the server answers `/healthz` over HTTP, something between
 * (a proxy) blocks WebSockets. The status turns `fallback` and the layer above carries on over
 * SSE; a WebSocket is tried again every `wsRetryMs`, and the first one that opens ends it.
 * @module agentstream/connection
 */

import { DEFAULT_BACKOFF, FATAL_CLOSE_CODES, Status, backoffDelay } from "./status.js";

/**
 * @typedef {Object} AgentStreamOptions
 * @property {string} [url] WebSocket URL; default `ws(s)://<this host>/ws`
 * Identity is proven, never named: the page's HttpOnly cookie rides the upgrade (the browser sends
 * it), or `token` does.
 * @property {string} [token] a bearer token (JWT or API key) for a server with authentication on;
 *   offered as the subprotocols `["agentstream.bearer", token]` (browsers cannot set headers on
 *   a WebSocket upgrade), the server echoes `agentstream.bearer`
 * @property {string} [dialect] wire format (`agentstream`, `calledit`…); default: the app's own
 * @property {string} [coalesce="auto"] text merging, sent as `?coalesce=`: `auto` merges text
 *   that waits for a busy socket (no delay; merged frames carry `firstSeq`), a number of ms is a
 *   window, `off` asks for one frame per event; "" leaves it to the server
 * @property {import("./status.js").BackoffOptions} [backoff]
 * @property {number} [offlineAfter=4] failed attempts before the status says `offline`
 *   (it keeps retrying at the backoff ceiling, and at once when the browser comes back online)
 * @property {number} [heartbeatMs=20000] ping this often; a ping unanswered for as long means
 *   the socket is dead (half-open connections never fire `close` on their own); 0 disables
 * @property {number} [requestTimeoutMs=15000] how long `request()` waits
 * @property {boolean} [autoConnect=true] connect in the constructor
 * @property {typeof WebSocket} [WebSocket] a WebSocket implementation (tests pass a fake)
 * @property {boolean} [fallback=true] use SSE when WebSockets are blocked (see above)
 * @property {number} [fallbackAfter=2] failed sockets in a row before checking for fallback
 * @property {number} [wsRetryMs=30000] in fallback mode, try a WebSocket again this often
 * @property {typeof fetch} [fetch] an HTTP implementation (tests pass their own)
 * @property {typeof EventSource} [EventSource] an EventSource implementation
 */

/** A socket that closes sooner than this after opening did not really work. */
export const QUICK_CLOSE_MS = 1500;

/**
 * @typedef {Object} StatusDetail
 * @property {string} status one of {@link Status}
 * @property {number} attempt failed attempts since the last live connection
 * @property {number | null} retryAt epoch ms of the next attempt, while waiting for one
 * @property {number | null} closeCode the last close code seen
 */

/** The socket's lifecycle. Events: `status` ({@link StatusDetail}), `message` (`detail.frame`). */
export class Connection extends EventTarget {
  /** @param {AgentStreamOptions} [options] */
  constructor(options = {}) {
    super();
    const loc = globalThis.location;
    const defaultUrl = loc ? `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws` : "";
    this.options = {
      url: options.url ?? defaultUrl,
      token: options.token ?? null,
      dialect: options.dialect ?? "",
      coalesce: options.coalesce ?? "auto",
      backoff: { ...DEFAULT_BACKOFF, ...(options.backoff ?? {}) },
      offlineAfter: options.offlineAfter ?? 4,
      heartbeatMs: options.heartbeatMs ?? 20000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15000,
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
      fallback: options.fallback ?? true,
      fallbackAfter: options.fallbackAfter ?? 2,
      wsRetryMs: options.wsRetryMs ?? 30000,
      fetch: options.fetch ?? globalThis.fetch?.bind(globalThis),
      EventSource: options.EventSource ?? globalThis.EventSource,
    };
    /** True while runs go over SSE because WebSockets cannot open (status `fallback`). */
    this.fallback = false;
    /** Sockets in a row that never opened or closed at once. */
    this._failedSockets = 0;
    this._openedAt = 0;
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
    this._closedByUser = false;
    this._everLive = false;
    this._retryTimer = 0;
    this._heartbeatTimer = 0;
    this._lastFrameAt = 0;
    this._pingSentAt = 0;
    this._listening = false;
    this._onOnline = () => {
      // A socket dialled while the browser was offline can hang in CONNECTING long after the
      // network is back (seen in Chromium): drop it and dial at once.
      const socket = this.socket;
      if (socket && socket.readyState === 0) {
        this.socket = null;
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
        socket.close();
      }
      this.retryNow();
    };
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
  }

  /** The URL actually dialled: `url` plus `dialect` and `coalesce` (identity rides the cookie or token). */
  get socketUrl() {
    const url = new URL(this.options.url, globalThis.location?.href);
    if (this.options.dialect) url.searchParams.set("dialect", this.options.dialect);
    if (this.options.coalesce !== "" && !url.searchParams.has("coalesce")) {
      url.searchParams.set("coalesce", String(this.options.coalesce));
    }
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
    if (!this.fallback && (reopening || this.attempt === 0)) this._setStatus(Status.CONNECTING);
    let socket;
    try {
      const token = this.options.token;
      socket = token
        ? new this.options.WebSocket(this.socketUrl, ["agentstream.bearer", token])
        : new this.options.WebSocket(this.socketUrl);
    } catch {
      this._failedSockets += 1;
      this._afterFailure(null);
      return;
    }
    this.socket = socket;
    this._openedAt = 0;
    socket.onopen = () => this._opened(socket);
    socket.onmessage = (e) => this._received(socket, e.data);
    socket.onclose = (e) => this._closed(socket, e.code);
    // `error` is always followed by `close`, which does the work.
    socket.onerror = () => {};
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
    this.fallback = false;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "client closed");
    this._onDropped();
    this._setStatus(Status.OFFLINE);
  }

  /** Whether a message sent now goes out on a live socket. */
  _isOpen() {
    return !!this.socket && this.socket.readyState === 1 && this.status === Status.LIVE;
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

  _opened(socket) {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.retryAt = null;
    this._everLive = true;
    this._openedAt = Date.now();
    if (this.fallback) {
      // WebSockets work again: the runs move back to the socket (resumed from their last seq).
      this.fallback = false;
      this._onFallbackEnd();
    }
    this._lastFrameAt = Date.now();
    this._setStatus(Status.LIVE);
    this._startHeartbeat();
    this._onLive();
  }

  _received(socket, data) {
    if (socket !== this.socket) return;
    this._lastFrameAt = Date.now();
    this._handleData(data);
  }

  /** One message's text (from the socket or an SSE stream): parse it and hand it on. */
  _handleData(data) {
    let frame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    this.dispatchEvent(new CustomEvent("message", { detail: { frame } }));
    this._onFrame(frame);
  }

  _closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.closeCode = code;
    this._stopHeartbeat();
    this._onDropped();
    if (this._closedByUser) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this._setStatus(Status.OFFLINE);
      this._onRefused(code);
      return;
    }
    const quick = !this._openedAt || Date.now() - this._openedAt < QUICK_CLOSE_MS;
    this._failedSockets = quick ? this._failedSockets + 1 : 0;
    this._afterFailure(code);
  }

  /** A socket failed: retry it, or (WebSockets blocked) go to or stay in fallback mode. */
  _afterFailure(code) {
    if (this.fallback) {
      this._retryWebSocketLater();
    } else if (this._fallbackPossible()) {
      this._checkFallback(code);
    } else {
      this._scheduleRetry(code);
    }
  }

  _fallbackPossible() {
    const { fallback, fallbackAfter, fetch, EventSource } = this.options;
    return fallback && !!fetch && !!EventSource && this._failedSockets >= fallbackAfter &&
           globalThis.navigator?.onLine !== false;
  }

  /** The server answers HTTP while its WebSocket fails: go to fallback mode; else keep retrying. */
  async _checkFallback(code) {
    let reachable = false;
    try {
      const health = new URL(this.socketUrl);
      health.protocol = health.protocol === "wss:" ? "https:" : "http:";
      health.pathname = health.pathname.replace(/\/ws(\/chat)?\/?$/, "") + "/healthz";
      health.search = "";
      reachable = (await this.options.fetch(health.toString(), { cache: "no-store" })).ok;
    } catch {
      reachable = false;
    }
    if (this._closedByUser || this.socket) return;
    if (!reachable) {
      this._scheduleRetry(code);
      return;
    }
    this.fallback = true;
    this.attempt = 0;
    this.retryAt = null;
    this._setStatus(Status.FALLBACK);
    this._onFallback();
    this._retryWebSocketLater();
  }

  _retryWebSocketLater() {
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this.connect(), this.options.wsRetryMs);
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
      this._ping();
    }, every);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
  }

  _setStatus(status) {
    if (status === this.status && status !== Status.RECONNECTING && status !== Status.OFFLINE) return;
    this.status = status;
    /** @type {StatusDetail} */
    const detail = { status, attempt: this.attempt, retryAt: this.retryAt, closeCode: this.closeCode };
    this.dispatchEvent(new CustomEvent("status", { detail }));
  }

  // -- hooks for the layer above ---------------------------------------------------------------

  /** The socket is live (first time or after a reconnect). */
  _onLive() {}
  /** @param {Record<string, any>} frame one parsed frame */
  _onFrame(frame) {} // eslint-disable-line no-unused-vars
  /** The socket is gone (dropped, refused or closed): answers sent on it will never come. */
  _onDropped() {}
  /** @param {number} code the server refused this client; retrying cannot help */
  _onRefused(code) {} // eslint-disable-line no-unused-vars
  /** Send a heartbeat ping. */
  _ping() {}
  /** WebSockets are blocked: carry on over HTTP and SSE. */
  _onFallback() {}
  /** A WebSocket opened again: stop the SSE streams (the runs resume on the socket). */
  _onFallbackEnd() {}
}
