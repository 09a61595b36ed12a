// CalledIt — what every part of the page shares: the client, the elements, and small page-wide
// actions (run state, notices, toasts, the prompt's error, the saved run).

import { AgentStream } from "/static/agentstream.js";
import { $, h } from "./dom.js";

export const SAVED_RUN_KEY = "calledit.run";

export const client = new AgentStream({ dialect: "calledit" });

export const ui = {
  body: document.body,
  conn: $("#conn"), connLabel: $("#conn-label"), connDetail: $("#conn-detail"), connRetry: $("#conn-retry"),
  tabMake: $("#tab-make"), tabCalls: $("#tab-calls"), callsCount: $("#calls-count"),
  viewMake: $("#view-make"), viewCalls: $("#view-calls"),
  composer: $("#composer"), prompt: $("#prompt"), timezone: $("#timezone"), counter: $("#counter"),
  submit: $("#submit"), stop: $("#stop"), promptError: $("#prompt-error"),
  run: $("#run"), progressFill: $("#progress-fill"), progressText: $("#progress-text"),
  progressDetail: $("#progress-detail"), progressTime: $("#progress-time"),
  transcript: $("#transcript"), jump: $("#jump"),
  notice: $("#notice"), noticeTitle: $("#notice-title"), noticeText: $("#notice-text"), retry: $("#retry"),
  card: $("#card"), badge: $("#card-badge"), statement: $("#card-statement"), date: $("#card-date"),
  countdown: $("#card-countdown"), sources: $("#card-sources"), criteria: $("#card-criteria"),
  steps: $("#card-steps"), cardFoot: $("#card-foot"), logcall: $("#logcall"), newcall: $("#newcall"),
  copy: $("#copy"),
  logNote: $("#logcall-note"),
  calls: $("#calls"), callsState: $("#calls-state"), callsSummary: $("#calls-summary"), callsMore: $("#calls-more"),
  toast: $("#toast"),
};

/** The page's mutable state. */
export const state = {
  /** @type {boolean | null} whether the server keeps calls: null until /api/calls answered */
  callsAvailable: null,
  /** @type {import("./callview.js").CallView | null} the call on screen */
  current: null,
};

/** `idle`, `streaming`, `finished`, `failed` or `cancelled`: styles and tests key off it. */
export function setRunState(runState) {
  ui.body.dataset.runState = runState;
}

export function showNotice(tone, title, text, code) {
  ui.notice.dataset.tone = tone;
  ui.noticeTitle.textContent = title;
  ui.noticeText.replaceChildren(text, code ? h("span", {}, " ", h("code", {}, `(${code})`)) : "");
  ui.notice.hidden = false;
}

let toastTimer = 0;
export function toast(message, tone = "") {
  ui.toast.textContent = message;
  ui.toast.dataset.tone = tone;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 5000);
}

export function showFieldError(message) {
  ui.promptError.textContent = message;
  ui.promptError.hidden = false;
  ui.composer.dataset.invalid = "";
  ui.prompt.setAttribute("aria-invalid", "true");
  ui.prompt.focus();
}

export function clearFieldError() {
  ui.promptError.hidden = true;
  delete ui.composer.dataset.invalid;
  ui.prompt.removeAttribute("aria-invalid");
}

/** Fade the top edge of the transcript once its first lines scrolled out of view. */
export function markScrolled() {
  ui.transcript.toggleAttribute("data-scrolled", ui.transcript.scrollTop > 4);
}

// A reload picks the call back up from sessionStorage (see composer.js).
export function saveRun(runId, prompt) {
  try { sessionStorage.setItem(SAVED_RUN_KEY, JSON.stringify({ runId, prompt })); } catch { /* blocked */ }
}

export function forgetRun() {
  try { sessionStorage.removeItem(SAVED_RUN_KEY); } catch { /* blocked */ }
}
