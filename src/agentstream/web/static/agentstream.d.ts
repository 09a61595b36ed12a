// Type declarations for agentstream.js, the browser client for agentstream servers.
// The module itself is plain JavaScript (no build step); these types are for editors and tsc users.
// agentstream.js re-exports from the modules under agentstream/ (status, frames, patch, run,
// answers, connection, client); everything public is declared here.

/** Connection states, in the order a healthy connection meets them. */
export declare const Status: Readonly<{
  CONNECTING: "connecting";
  LIVE: "live";
  RECONNECTING: "reconnecting";
  OFFLINE: "offline";
  /** WebSockets are blocked (a proxy): runs go over HTTP and SSE; WebSockets are retried. */
  FALLBACK: "fallback";
}>;
export type ConnectionStatus = (typeof Status)[keyof typeof Status];

/** Run states; `pending` until the server acknowledges the request. */
export declare const RunState: Readonly<{
  PENDING: "pending";
  RUNNING: "running";
  FINISHED: "finished";
  FAILED: "failed";
  CANCELLED: "cancelled";
}>;
export type RunStateValue = (typeof RunState)[keyof typeof RunState];

export interface BackoffOptions {
  /** Delay before the first retry (default 500 ms). */
  initialMs?: number;
  /** The delay never grows past this (default 15000 ms). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is randomised: 0 none, 1 "full jitter" (default 0.5). */
  jitter?: number;
}

export declare const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>>;

/**
 * The delay before reconnect attempt `attempt` (0-based): uniform in
 * `[ceiling * (1 - jitter), ceiling]` where `ceiling = min(maxMs, initialMs * factor ** attempt)`.
 */
export declare function backoffDelay(
  attempt: number,
  options?: BackoffOptions,
  random?: () => number,
): number;

/** A stable anonymous id for this browser, kept in `localStorage` under `key`. */
export declare function browserUserId(key?: string, storage?: Storage): string;

export interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** Apply an RFC 6902 JSON Patch to a copy of `doc`. */
export declare function applyPatch(doc: unknown, ops: JsonPatchOp[]): unknown;

interface EventBase {
  runId?: string;
  seq?: number;
  /** On merged text: the seq of its first delta (the frame covers firstSeq..seq). */
  firstSeq?: number;
}

/** One run event, whatever the wire dialect. */
export type RunEvent = EventBase &
  (
    | { kind: "started"; requestId?: string }
    | { kind: "text"; delta: string }
    | { kind: "tool"; id: string; name: string; input: unknown }
    | { kind: "tool_result"; id: string; name: string; content: string; status: string }
    | { kind: "status"; status: string; step?: string }
    | { kind: "state"; snapshot: unknown }
    | { kind: "state_delta"; delta: JsonPatchOp[] }
    | { kind: "custom"; name: string; value: unknown }
    | { kind: "complete"; result: unknown }
    | { kind: "error"; message: string; code: string }
  );

/**
 * `value` of the `custom` event named `progress`: the engine's own count of prompt tokens read
 * while the model reads its prompt (never a timer).
 */
export interface PromptProgress {
  stage: "prompt";
  processed: number;
  total: number;
  cached: number;
}

/** Map a run frame of either dialect (`calledit`, `agentstream`) to a RunEvent; null for control frames. */
export declare function normalizeFrame(frame: Record<string, unknown>): RunEvent | null;

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  status: "running" | "success" | "error";
  /** The tool's output text, once it returned. */
  result?: string;
}

/** `detail` of every Run event: the RunEvent plus the run itself. */
export type RunEventDetail<K extends RunEvent["kind"]> = Extract<RunEvent, { kind: K }> & { run: Run };

export interface RunEventMap {
  started: RunEventDetail<"started">;
  text: RunEventDetail<"text">;
  tool: RunEventDetail<"tool">;
  tool_result: RunEventDetail<"tool_result">;
  status: RunEventDetail<"status">;
  state: RunEventDetail<"state">;
  state_delta: RunEventDetail<"state_delta">;
  custom: RunEventDetail<"custom">;
  complete: RunEventDetail<"complete">;
  error: RunEventDetail<"error">;
  /** After a reconnect: the server's answer to the resume. */
  resumed: { kind: "resumed"; state: string; run: Run };
  /** Always the last event of a run. */
  end: { kind: "end"; state: RunStateValue; run: Run };
}

/** One streamed request. */
export declare class Run extends EventTarget {
  readonly client: AgentStream;
  readonly action: string;
  readonly payload: Record<string, unknown>;
  /** Sent with the start message; the server echoes it on the run's first frame. */
  readonly requestId: string;
  /** The server's run id, once the run started. */
  id: string | null;
  /** The highest seq received; a resume asks for what comes after it. */
  lastSeq: number;
  state: RunStateValue;
  /** All text deltas so far. */
  text: string;
  /** Tool calls by id, in start order. */
  tools: Map<string, ToolCall>;
  /** The latest `status` value. */
  status: string;
  /** State from `state`/`state_delta` frames (a partial result); `result` wins over it. */
  snapshot: unknown;
  /** The final result. */
  result: unknown;
  error: { message: string; code: string } | null;
  cancelRequested: boolean;
  /** How many times the run was resumed after a reconnect. */
  resumes: number;
  /** Settles (never rejects) when the run ends. */
  readonly finished: Promise<Run>;
  /** Whether the run has ended. */
  readonly done: boolean;
  /** Listen to one event type; returns a function that removes the listener. */
  on<K extends keyof RunEventMap>(type: K, listener: (event: CustomEvent<RunEventMap[K]>) => void): () => void;
  /** Ask the server to stop the run. */
  cancel(): void;
}

export interface AgentStreamOptions {
  /** WebSocket URL; default `ws(s)://<this host>/ws`. */
  url?: string;
  /** Wire format: `agentstream`, `calledit`…; default the app's own. */
  dialect?: string;
  backoff?: BackoffOptions;
  /** Failed attempts before the status says `offline` (default 4); retries continue. */
  offlineAfter?: number;
  /** Ping interval; a ping unanswered for as long closes and reconnects (default 20000; 0 disables). */
  heartbeatMs?: number;
  /** How long request() waits for its answer (default 15000). */
  requestTimeoutMs?: number;
  /** Connect in the constructor (default true). */
  autoConnect?: boolean;
  /** A WebSocket implementation (tests pass a fake). */
  WebSocket?: typeof WebSocket;
  /** Use HTTP + SSE when WebSockets cannot open but the server answers HTTP (default true). */
  fallback?: boolean;
  /** Failed sockets in a row before checking for fallback (default 2). */
  fallbackAfter?: number;
  /** In fallback mode, try a WebSocket again this often (default 30000). */
  wsRetryMs?: number;
  /** An HTTP implementation for fallback mode (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** An EventSource implementation for fallback mode (default globalThis.EventSource). */
  EventSource?: typeof EventSource;
}

export interface StatusDetail {
  status: ConnectionStatus;
  /** Failed attempts since the last live connection. */
  attempt: number;
  /** Epoch ms of the next attempt while waiting for one. */
  retryAt: number | null;
  /** The last close code seen. */
  closeCode: number | null;
}

export interface AgentStreamEventMap {
  status: CustomEvent<StatusDetail>;
  run: CustomEvent<{ run: Run }>;
  message: CustomEvent<{ frame: Record<string, unknown> }>;
  error: CustomEvent<{ message: string; code: string }>;
}

/** An error answer from the server, or a local one (`timeout`, `disconnected`). */
export declare class AgentStreamError extends Error {
  constructor(message: string, code: string);
  readonly code: string;
}

/** A WebSocket connection to an agentstream server. */
export declare class AgentStream extends EventTarget {
  constructor(options?: AgentStreamOptions);
  readonly options: Required<Omit<AgentStreamOptions, "autoConnect">>;
  status: ConnectionStatus;
  attempt: number;
  retryAt: number | null;
  closeCode: number | null;
  socket: WebSocket | null;
  /** True while runs go over HTTP + SSE because WebSockets cannot open (status `fallback`). */
  fallback: boolean;
  /** Runs that have an id and have not ended. */
  runs: Map<string, Run>;
  /** Runs sent (or to send) that the server has not acknowledged yet. */
  pendingRuns: Set<Run>;
  /** The URL dialled: `url` plus the `dialect` query parameter. */
  readonly socketUrl: string;
  /** Open the socket (again). */
  connect(): void;
  /** Skip the backoff wait and try now. */
  retryNow(): void;
  /** Close for good; runs go on server-side and can be resumed later. */
  close(): void;
  /** Start a streamed run. */
  start(action: string, payload?: Record<string, unknown>): Run;
  /** Follow a run started elsewhere (another tab, before a reload) from `lastSeq`. */
  resume(runId: string, lastSeq?: number, action?: string): Run;
  /**
   * Send a request/reply action and wait for `<action>_result`. Every message the client sends
   * carries a unique `requestId`; the answer naming it settles this promise and no other.
   */
  request(action: string, payload?: Record<string, unknown>): Promise<Record<string, any>>;
  addEventListener<K extends keyof AgentStreamEventMap>(
    type: K,
    listener: (event: AgentStreamEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
}
