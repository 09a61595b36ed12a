/**
 * Server frames of either dialect (`agentstream`, AG-UI-shaped; or a seed's such as `calledit`)
 * mapped onto one small vocabulary of run events.
 * @module agentstream/frames
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
 *   {kind: "state_delta", delta: import("./patch.js").JsonPatchOp[]} |
 *   {kind: "custom", name: string, value: unknown} |
 *   {kind: "complete", result: unknown} |
 *   {kind: "error", message: string, code: string}
 * ) & {runId?: string, seq?: number, firstSeq?: number}} RunEvent
 */

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

const tool = (base, id, name, input) => ({ ...base, kind: "tool", id: String(id ?? name), name: String(name), input });
const toolResult = (base, f, id, name) => ({
  ...base, kind: "tool_result", id: String(id ?? name), name: String(name ?? ""),
  content: String(f.content ?? ""), status: String(f.status ?? "success"),
});
const error = (base, f) => ({ ...base, kind: "error", message: String(f.message ?? "error"), code: String(f.code ?? "error") });

/** The seed (`calledit`-style) frames; null when `frame.type` is not one of them. */
function seedEvent(base, frame) {
  switch (frame.type) {
    case "status":
      if (frame.status === "started") return { ...base, kind: "started", requestId: frame.requestId };
      return { ...base, kind: "status", status: String(frame.status), step: frame.step };
    case "text":
      return { ...base, kind: "text", delta: String(frame.content ?? "") };
    case "tool":
      return tool(base, frame.id, frame.name, frame.input ?? {});
    case "tool_result":
      return toolResult(base, frame, frame.id, frame.name);
    case "complete":
      // The seed sent its record as a JSON string; ours sends an object. Accept both.
      return { ...base, kind: "complete", result: parseMaybeJson(frame.content) };
    case "error":
      return error(base, frame);
    case "state":
      return { ...base, kind: "state", snapshot: frame.snapshot };
    case "state_delta":
      return { ...base, kind: "state_delta", delta: frame.delta ?? [] };
    default:
      return null;
  }
}

/** The `agentstream` (AG-UI-shaped) frames; null when `frame.type` is not one of them. */
function canonicalEvent(base, frame) {
  switch (frame.type) {
    case "RUN_STARTED":
      return { ...base, kind: "started", requestId: frame.input?.requestId ?? frame.requestId };
    case "TEXT_MESSAGE_CHUNK":
    case "TEXT_MESSAGE_CONTENT":
      return { ...base, kind: "text", delta: String(frame.delta ?? "") };
    case "TOOL_CALL_CHUNK":
    case "TOOL_CALL_START":
      return tool(base, frame.toolCallId, frame.toolCallName, parseMaybeJson(frame.delta ?? "{}"));
    case "TOOL_CALL_RESULT":
      return toolResult(base, frame, frame.toolCallId, frame.toolCallName);
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
        const v = frame.value;
        const word = typeof v === "string" ? v : String(v?.status ?? v?.message ?? "status");
        return { ...base, kind: "status", status: word, value: v };
      }
      return { ...base, kind: "custom", name: String(frame.name), value: frame.value };
    case "RUN_FINISHED":
      return { ...base, kind: "complete", result: frame.result };
    case "RUN_ERROR":
      return error(base, frame);
    default:
      return null;
  }
}

/**
 * Map one server frame of a run (either dialect) to a {@link RunEvent}; null for control frames
 * (they carry no `seq`).
 *
 * @param {Record<string, any>} frame
 * @returns {RunEvent | null}
 */
export function normalizeFrame(frame) {
  if (!frame || typeof frame !== "object" || typeof frame.seq !== "number") return null;
  const base = { runId: frame.runId, seq: frame.seq };
  // Merged text covers every seq from firstSeq to seq (the server merges waiting deltas).
  if (typeof frame.firstSeq === "number") base.firstSeq = frame.firstSeq;
  // A seed dialect renders other events (progress, app events) as {type: name, value}.
  return seedEvent(base, frame) ?? canonicalEvent(base, frame) ??
    { ...base, kind: "custom", name: String(frame.type), value: frame.value };
}
