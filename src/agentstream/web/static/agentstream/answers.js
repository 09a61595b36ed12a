/**
 * Messages sent on the current socket that await their answer, paired by `requestId`.
 *
 * Every client message carries a unique `requestId`, and the server echoes it on the control
 * frame (or first run frame) that answers it, so an answer finds its message exactly, however
 * the answers are interleaved. An answer whose `requestId` matches nothing waiting is ignored,
 * never given to another message. An answer with no `requestId` (an error the server could not
 * tie to a message, such as a frame that was not JSON) answers no message either: pairing by send
 * order would be a guess, and a wrong guess resolves the wrong promise.
 * @module agentstream/answers
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

/**
 * @typedef {Object} PendingReply
 * @property {string} action
 * @property {Record<string, unknown>} payload
 * @property {string} requestId
 * @property {(frame: Record<string, any>) => void} resolve
 * @property {(error: AgentStreamError) => void} reject
 * @property {any} timer
 */

/**
 * One message waiting for its answer.
 * @typedef {{action: string, requestId: string, run?: import("./run.js").Run, reply?: PendingReply}} Waiting
 */

/** The table of messages awaiting an answer, in the order they were sent. */
export class Answers {
  constructor() {
    /** @type {Map<string, Waiting>} by requestId; a Map keeps send order */
    this._waiting = new Map();
  }

  /** Number of messages waiting. */
  get size() {
    return this._waiting.size;
  }

  /** @param {Waiting} entry */
  add(entry) {
    this._waiting.set(entry.requestId, entry);
  }

  /**
   * Remove and return the message `frame` answers.
   *
   * @param {Record<string, any>} frame a control frame or a run's first frame
   * @param {(entry: Waiting) => boolean} accepts which messages this kind of answer can answer
   * @param {string | null | undefined} [requestId] defaults to `frame.requestId`
   * @returns {Waiting | undefined}
   */
  take(frame, accepts, requestId = frame.requestId) {
    if (requestId == null) return undefined;
    const entry = this._waiting.get(String(requestId));
    if (!entry || !accepts(entry)) return undefined;
    this._waiting.delete(entry.requestId);
    return entry;
  }

  /** Whether any waiting message passes `test`. @param {(entry: Waiting) => boolean} test */
  some(test) {
    return [...this._waiting.values()].some(test);
  }

  /** Forget the messages that pass `test`. @param {(entry: Waiting) => boolean} test */
  remove(test) {
    for (const [id, entry] of this._waiting) if (test(entry)) this._waiting.delete(id);
  }

  /** Empty the table and return what was in it (the socket they were sent on is gone). */
  drain() {
    const all = [...this._waiting.values()];
    this._waiting.clear();
    return all;
  }
}
