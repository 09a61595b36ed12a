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
 * - sends request/reply actions (`logcall` → `logcall_result`) as promises;
 * - pairs every answer with the message it answers by `requestId`;
 * - falls back to HTTP + Server-Sent Events when WebSockets are blocked (status `fallback`),
 *   keeping resume (`Last-Event-ID`) and cancel (an HTTP call), and retries WebSockets later.
 *
 * It understands both the `agentstream` dialect (AG-UI-shaped frames) and seed dialects such as
 * `calledit`; {@link normalizeFrame} maps either onto one small event vocabulary.
 *
 * This file only re-exports; each concern lives in its own module under `agentstream/`:
 * `status.js` (statuses, backoff, ids), `frames.js` (dialects → run events), `patch.js`
 * (JSON Patch), `run.js` (one run), `answers.js` (requestId pairing), `connection.js` (the
 * socket, reconnect, heartbeat, fallback), `sse.js` (runs over HTTP + SSE) and `client.js`
 * (runs and requests over the connection).
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

export { AgentStreamError } from "./agentstream/answers.js";
export { AgentStream } from "./agentstream/client.js";
export { normalizeFrame } from "./agentstream/frames.js";
export { applyPatch } from "./agentstream/patch.js";
export { Run, RunState } from "./agentstream/run.js";
export { DEFAULT_BACKOFF, Status, backoffDelay, browserUserId } from "./agentstream/status.js";
