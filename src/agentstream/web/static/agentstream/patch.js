/**
 * A tiny RFC 6902 JSON Patch applier for `state_delta` frames.
 *
 * No library: the server only sends `add` / `replace` / `remove` on plain JSON, and a page needs
 * no validation (`test`) or error reporting from it; a dependency would mean a build step or a
 * second download for ~40 lines. Unknown or impossible operations are skipped, never thrown, so a
 * malformed delta cannot break the page (the run's `complete` record wins anyway).
 * @module agentstream/patch
 */

/** @typedef {{op: string, path: string, value?: unknown, from?: string}} JsonPatchOp */

/**
 * Apply an RFC 6902 JSON Patch (add, replace, remove, move, copy; test is skipped) to a copy of `doc`.
 *
 * @param {unknown} doc
 * @param {JsonPatchOp[]} ops
 * @returns {unknown}
 */
export function applyPatch(doc, ops) {
  let root = structuredClone(doc ?? {});
  for (const op of ops ?? []) {
    if (!op || typeof op.path !== "string" || op.op === "test") continue;
    const path = splitPointer(op.path);
    const from = splitPointer(op.from ?? "");
    const value = op.op === "copy" || op.op === "move" ? structuredClone(getAt(root, from)) : structuredClone(op.value);
    if (op.op === "move") root = setAt(root, from, undefined, "remove");
    root = setAt(root, path, value, op.op === "remove" ? "remove" : op.op === "replace" ? "replace" : "add");
  }
  return root;
}

/** `/a/b~1c` → `["a", "b/c"]` (RFC 6901 escapes). */
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
    if (!Number.isInteger(index) || index < 0 || index > parent.length) return root;
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
