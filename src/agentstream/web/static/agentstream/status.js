/**
 * Connection states, reconnect backoff, and the browser's anonymous user id.
 * @module agentstream/status
 */

/** Connection states, in the order a healthy connection meets them. */
export const Status = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
  /** WebSockets are blocked (a proxy): runs go over HTTP and SSE; WebSockets are retried. */
  FALLBACK: "fallback",
});

/** Close codes after which retrying cannot help (the server refused this client). */
export const FATAL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1009, 1010]);

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

/** A random id without dashes (a UUID where the browser has one). */
export function randomId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID().replaceAll("-", "");
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

let requestCounter = 0;

/**
 * A fresh `requestId` for one client message. Unique per page (a counter) and across pages (a
 * random tail), so answers are paired with the message they answer, never guessed.
 * @returns {string}
 */
export function nextRequestId() {
  requestCounter += 1;
  return `r${requestCounter}_${randomId().slice(0, 8)}`;
}
