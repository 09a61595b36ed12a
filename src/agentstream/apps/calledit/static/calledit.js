// CalledIt — the page. Built on /static/agentstream.js; no framework, no build step.
//
// The page shows one call at a time: its live text with tool chips inline, a progress line, and
// the record card that fills in as fields arrive. My Calls lists logged calls once the server has
// a store (GET /api/calls answers); until then the tab and the Log Call button stay hidden.

import { AgentStream, RunState, Status, browserUserId } from "/static/agentstream.js";

const MAX_PROMPT = 2000;
const SAVED_RUN_KEY = "calledit.run";
const TZ_KEY = "calledit.timezone";

const $ = (selector, root = document) => root.querySelector(selector);

/** Build an element: h("li", {class: "x", dataset: {id: 1}}, "text", child). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "html") node.innerHTML = value; // only ever given static icon markup
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

const ICONS = {
  clock: '<svg viewBox="0 0 20 20"><circle cx="10" cy="10" r="6.75"/><path d="M10 6.2V10l2.6 1.7"/></svg>',
  calendar: '<svg viewBox="0 0 20 20"><rect x="3.5" y="4.5" width="13" height="12" rx="2.5"/><path d="M3.5 8.5h13M7 3v3M13 3v3"/></svg>',
  tool: '<svg viewBox="0 0 20 20"><path d="M12.3 4.2a3.6 3.6 0 0 0-4.7 4.6L3.8 12.6a1.5 1.5 0 0 0 2.1 2.1l3.8-3.8a3.6 3.6 0 0 0 4.6-4.7l-2.2 2.2-1.9-.3-.3-1.9z"/></svg>',
  bookmark: '<svg viewBox="0 0 20 20"><path d="M5 3.5h10v13l-5-3.5-5 3.5z"/></svg>',
  check: '<svg viewBox="0 0 20 20"><path d="M4.5 10.5 8 14l7.5-8"/></svg>',
  inbox: '<svg viewBox="0 0 20 20"><path d="M3.5 11.5 5.5 4.5h9l2 7v4h-13z M3.5 11.5h4l1 2h3l1-2h4"/></svg>',
  alert: '<svg viewBox="0 0 20 20"><circle cx="10" cy="10" r="7"/><path d="M10 6.3v4.6M10 13.6v.2"/></svg>',
};

const TOOLS = {
  current_time: { label: "Today’s date", icon: "clock", progress: "Checking today’s date…" },
  parse_relative_date: { label: "Deadline", icon: "calendar", progress: "Working out the deadline…" },
};

const STATUS_LABELS = {
  pending: "Pending",
  verified_true: "Called it",
  verified_false: "Missed",
  inconclusive: "Inconclusive",
  draft: "Drafting",
};

const SUMMARY_WORDS = {
  verified_true: "called",
  verified_false: "missed",
  inconclusive: "inconclusive",
  pending: "pending",
};

// -- small helpers -----------------------------------------------------------------------------

const locale = navigator.language || "en";
const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
const longDayFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });

/** A YYYY-MM-DD date as local midnight (not UTC, which would shift the day west of Greenwich). */
function localDate(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso ?? ""));
  if (!match) return null;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

function calendarDaysUntil(date, now = new Date()) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((date - today) / 86400000);
}

/** The countdown to a verification date: a main line and a sub line. */
function countdown(iso, now = new Date()) {
  const date = localDate(iso);
  if (!date) return { text: "—", sub: "" };
  const days = calendarDaysUntil(date, now);
  if (days < 0) return { text: "Due", sub: `since ${relative.format(days, "day")}` };
  if (days === 0) return { text: "Today", sub: "verification day" };
  const ms = date - now;
  const d = Math.floor(ms / 86400000);
  const hrs = Math.floor((ms % 86400000) / 3600000);
  const mins = Math.floor((ms % 3600000) / 60000);
  const text = d >= 1 ? `${d} ${d === 1 ? "day" : "days"}, ${hrs} h` : `${hrs} h ${mins} min`;
  return { text, sub: "to go" };
}

function summarize(value, max = 90) {
  let text;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    text = Object.entries(value)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" · ");
  } else {
    text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  }
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** The interesting part of a tool's output: a date if it has one, else a short summary. */
function resultSummary(content) {
  let value = content;
  try { value = JSON.parse(content); } catch { /* plain text */ }
  if (value && typeof value === "object") {
    if (value.date) {
      const date = localDate(value.date);
      const stamp = value.iso ?? value.datetime;
      const time = value.time ?? (typeof stamp === "string" && stamp.length > 15 ? stamp.slice(11, 16) : "");
      return date ? dayFormat.format(date) + (time ? ` ${time}` : "") : String(value.date);
    }
    if (value.error) return String(value.error);
  }
  return summarize(value, 60);
}

function toolDate(content) {
  try {
    const value = JSON.parse(content);
    return value && typeof value.date === "string" ? value.date : null;
  } catch {
    return null;
  }
}

// -- state -------------------------------------------------------------------------------------

const user = browserUserId("calledit.user");
const client = new AgentStream({ dialect: "calledit", user });

const ui = {
  body: document.body,
  conn: $("#conn"), connLabel: $("#conn-label"), connDetail: $("#conn-detail"), connRetry: $("#conn-retry"),
  tabMake: $("#tab-make"), tabCalls: $("#tab-calls"), callsCount: $("#calls-count"),
  viewMake: $("#view-make"), viewCalls: $("#view-calls"),
  composer: $("#composer"), prompt: $("#prompt"), timezone: $("#timezone"), counter: $("#counter"),
  submit: $("#submit"), stop: $("#stop"), promptError: $("#prompt-error"),
  run: $("#run"), progressFill: $("#progress-fill"), progressText: $("#progress-text"),
  progressTime: $("#progress-time"), transcript: $("#transcript"), jump: $("#jump"),
  notice: $("#notice"), noticeTitle: $("#notice-title"), noticeText: $("#notice-text"), retry: $("#retry"),
  card: $("#card"), badge: $("#card-badge"), statement: $("#card-statement"), date: $("#card-date"),
  countdown: $("#card-countdown"), sources: $("#card-sources"), criteria: $("#card-criteria"),
  steps: $("#card-steps"), cardFoot: $("#card-foot"), logcall: $("#logcall"), newcall: $("#newcall"),
  copy: $("#copy"),
  logNote: $("#logcall-note"),
  calls: $("#calls"), callsState: $("#calls-state"), callsSummary: $("#calls-summary"), callsMore: $("#calls-more"),
  toast: $("#toast"),
};

/** Whether the server keeps calls: null until /api/calls answered. */
let callsAvailable = null;
/** @type {CallView | null} */
let current = null;

// -- connection status -------------------------------------------------------------------------

const CONN_TEXT = {
  [Status.CONNECTING]: "Connecting…",
  [Status.LIVE]: "Live",
  [Status.RECONNECTING]: "Reconnecting…",
  [Status.OFFLINE]: "Offline",
};
let connTicker = 0;

function renderConnection() {
  const { status, retryAt } = client;
  ui.conn.dataset.status = status;
  if (ui.connLabel.textContent !== CONN_TEXT[status]) ui.connLabel.textContent = CONN_TEXT[status];
  // The seconds tick outside the live region, so screen readers hear the state, not a clock.
  let detail = "";
  if (status === Status.OFFLINE && retryAt) {
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    detail = seconds > 0 ? `· retry in ${seconds} s` : "· retrying…";
  }
  ui.connDetail.textContent = detail;
  ui.connRetry.hidden = status !== Status.OFFLINE;
  clearInterval(connTicker);
  if (status === Status.OFFLINE && retryAt) connTicker = setInterval(renderConnection, 1000);
}

client.addEventListener("status", () => {
  renderConnection();
  current?.connectionChanged(client.status);
});
ui.connRetry.addEventListener("click", () => client.retryNow());
renderConnection();

// -- one call on screen ------------------------------------------------------------------------

/** Renders one run: transcript, tools, progress, card and notices. */
class CallView {
  /** @param {import("/static/agentstream.js").Run} run @param {{prompt: string, restored?: boolean}} info */
  constructor(run, info) {
    this.run = run;
    this.prompt = info.prompt;
    this.restored = !!info.restored;
    this.startedAt = performance.now();
    this.progress = 0;
    this.segment = null;
    this.textNode = null;
    this.pending = "";
    this.frame = 0;
    this.toolNodes = new Map();
    this.filled = new Set();
    this.partial = {};
    this.stopping = false;
    this.wasDropped = false;
    this.timer = setInterval(() => this.tick(), 100);
    this.cleanup = [];
    this.reset();
    this.listen();
  }

  reset() {
    ui.run.hidden = false;
    ui.run.dataset.runId = this.run.id ?? "";
    ui.transcript.replaceChildren();
    ui.transcript.removeAttribute("data-scrolled");
    ui.jump.hidden = true;
    ui.notice.hidden = true;
    ui.card.hidden = true;
    ui.card.setAttribute("aria-busy", "true");
    ui.cardFoot.hidden = true;
    ui.logNote.textContent = "";
    resetLogButton();
    for (const node of ui.card.querySelectorAll(".filled")) {
      node.classList.remove("filled");
      node.style.animationDelay = "";
    }
    ui.badge.dataset.status = "draft";
    ui.badge.textContent = STATUS_LABELS.draft;
    ui.statement.replaceChildren(h("span", { class: "skeleton skeleton-title" }));
    ui.date.replaceChildren(h("span", { class: "skeleton skeleton-line" }));
    ui.countdown.replaceChildren(h("span", { class: "skeleton skeleton-line" }));
    for (const list of [ui.sources, ui.criteria, ui.steps]) {
      list.replaceChildren(h("li", { class: "skeleton-item" }, h("span", { class: "skeleton skeleton-line" })));
    }
    setRunState("streaming");
    this.setProgress(client.status === Status.LIVE ? "Sending your call…" : "Waiting for the connection…", 6);
  }

  listen() {
    const on = (type, fn) => this.cleanup.push(this.run.on(type, (e) => fn(e.detail)));
    on("started", () => {
      ui.run.dataset.runId = this.run.id;
      saveRun(this.run.id, this.prompt);
      ui.card.hidden = false;
      this.setProgress("Reading your call…", 15);
    });
    on("text", (e) => this.appendText(e.delta));
    on("tool", (e) => this.addTool(e));
    on("tool_result", (e) => this.finishTool(e));
    on("status", (e) => {
      if (e.status === "complete") this.setProgress("Writing the record…", 92);
    });
    on("state", () => this.fillCard(this.run.snapshot, false));
    on("state_delta", () => this.fillCard(this.run.snapshot, false));
    on("resumed", () => {
      if (this.wasDropped) this.setProgress("Back online — caught up", this.progress);
      this.wasDropped = false;
    });
    on("complete", (e) => this.complete(e.result));
    on("error", (e) => this.failed(e));
    on("end", () => this.ended());
  }

  dispose() {
    clearInterval(this.timer);
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((off) => off());
  }

  tick() {
    const seconds = (performance.now() - this.startedAt) / 1000;
    ui.progressTime.textContent = `${seconds.toFixed(1)} s`;
  }

  setProgress(text, percent) {
    this.progress = Math.max(this.progress, percent);
    ui.progressText.textContent = text;
    ui.progressFill.style.width = `${this.progress}%`;
  }

  connectionChanged(status) {
    if (this.run.done) return;
    if (status === Status.RECONNECTING) {
      this.wasDropped = true;
      this.setProgress("Connection lost — reconnecting. The agent keeps working meanwhile…", this.progress);
    } else if (status === Status.OFFLINE) {
      this.wasDropped = true;
      this.setProgress("Offline — the agent keeps working; this page catches up once you’re back.", this.progress);
    }
  }

  // Text is batched per animation frame and appended to one text node per segment: no
  // re-rendering of what is already on screen, so nothing flickers and selection survives.
  appendText(delta) {
    this.pending += delta;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
    if (this.progress < 70 && this.run.tools.size > 0 && [...this.run.tools.values()].every((t) => t.status !== "running")) {
      this.setProgress("Drafting how to verify it…", 75);
    }
  }

  flush() {
    this.frame = 0;
    if (!this.pending) return;
    const follow = this.isAtBottom();
    if (!this.segment) {
      this.segment = h("span", { class: "seg seg-new" });
      this.textNode = document.createTextNode("");
      this.segment.append(this.textNode);
      ui.transcript.append(this.segment);
    }
    this.textNode.appendData(this.pending);
    this.pending = "";
    this.placeCaret();
    this.afterGrowth(follow);
  }

  placeCaret() {
    let caret = ui.transcript.querySelector(".caret");
    if (!caret) caret = h("span", { class: "caret", "aria-hidden": "true" });
    if (this.segment) this.segment.after(caret);
  }

  isAtBottom() {
    const t = ui.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 28;
  }

  // Follow the stream only while the reader is at the bottom; if they scrolled up to read, leave
  // them there and offer a way back.
  afterGrowth(follow) {
    if (follow) {
      ui.transcript.scrollTop = ui.transcript.scrollHeight;
      ui.jump.hidden = true;
    } else {
      ui.jump.hidden = false;
    }
    markScrolled();
  }

  addTool(event) {
    this.flush();
    this.segment = null; // text after the tool starts a new segment below the chips
    const follow = this.isAtBottom();
    let list = ui.transcript.lastElementChild;
    if (!list || !list.classList.contains("tools")) {
      list = h("ul", { class: "tools", "aria-label": "Tools used" });
      ui.transcript.append(list);
    }
    const meta = TOOLS[event.name] ?? { label: event.name, icon: "tool", progress: `Running ${event.name}…` };
    const result = h("span", { class: "tool-result" });
    const chip = h("li", { class: "tool", dataset: { toolId: event.id, tool: event.name, status: "running" },
                           title: `${event.name}(${JSON.stringify(event.input)})` },
      h("span", { class: "tool-icon", html: ICONS[meta.icon] ?? ICONS.tool }),
      h("span", { class: "tool-text" },
        h("span", { class: "tool-name" }, meta.label, h("code", {}, event.name)),
        h("span", { class: "tool-input" }, summarize(event.input)),
        result),
      h("span", { class: "tool-state", role: "img", "aria-label": "running" }));
    list.append(chip);
    this.toolNodes.set(event.id, { chip, result });
    const step = event.name === "parse_relative_date" ? 50 : 32;
    this.setProgress(meta.progress, step);
    this.placeCaret();
    this.afterGrowth(follow);
  }

  finishTool(event) {
    const node = this.toolNodes.get(event.id);
    if (node) {
      node.chip.dataset.status = event.status === "error" ? "error" : "success";
      node.chip.querySelector(".tool-state").setAttribute("aria-label", event.status === "error" ? "failed" : "done");
      node.result.textContent = "→ " + resultSummary(event.content);
    }
    if (event.name === "parse_relative_date") {
      const date = toolDate(event.content);
      if (date) this.fillCard({ verification_date: date }, false);
    }
    this.setProgress("Drafting how to verify it…", 62);
  }

  /** Put whatever fields `record` has into the card; each field animates in once. */
  fillCard(record, final) {
    if (!record || typeof record !== "object") return;
    ui.card.hidden = false;
    let order = 0;
    const reveal = (name, node) => {
      if (this.filled.has(name)) return;
      this.filled.add(name);
      node.classList.remove("filled");
      void node.offsetWidth; // restart the animation
      node.style.animationDelay = final ? `${order++ * 70}ms` : "0ms";
      node.classList.add("filled");
    };
    if (record.prediction_statement && this.partial.statement !== record.prediction_statement) {
      this.partial.statement = record.prediction_statement;
      ui.statement.textContent = record.prediction_statement;
      reveal("statement", ui.statement);
    }
    if (record.verification_date && this.partial.verification_date !== record.verification_date) {
      this.partial.verification_date = record.verification_date;
      this.filled.delete("date");
      const date = localDate(record.verification_date);
      ui.date.replaceChildren(h("time", { datetime: record.verification_date, title: date ? longDayFormat.format(date) : null },
        date ? dayFormat.format(date) : record.verification_date));
      this.renderCountdown();
      reveal("date", ui.date.parentElement);
    }
    const method = record.verification_method ?? {};
    for (const [name, list] of [["source", ui.sources], ["criteria", ui.criteria], ["steps", ui.steps]]) {
      const items = Array.isArray(method[name]) ? method[name] : null;
      if (!items || !items.length) continue;
      const key = JSON.stringify(items);
      if (this.partial[name] === key) continue;
      this.partial[name] = key;
      list.replaceChildren(...items.map((item) => h("li", {}, String(item))));
      this.filled.delete(name);
      reveal(name, list.parentElement);
    }
  }

  renderCountdown() {
    const iso = this.partial.verification_date;
    if (!iso) return;
    const { text, sub } = countdown(iso);
    ui.countdown.replaceChildren(text, " ", h("span", { class: "fact-sub" }, sub));
  }

  complete(result) {
    this.flush();
    this.fillCard(result, true);
    ui.card.setAttribute("aria-busy", "false");
    ui.badge.dataset.status = result?.initial_status ?? "pending";
    ui.badge.textContent = STATUS_LABELS[ui.badge.dataset.status] ?? ui.badge.dataset.status;
    ui.cardFoot.hidden = false;
    ui.logcall.hidden = callsAvailable !== true;
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    const date = localDate(result?.verification_date);
    this.setProgress(`Record ready in ${seconds} s${date ? ` — check it on ${longDayFormat.format(date)}` : ""}`, 100);
    setRunState("finished");
  }

  failed(error) {
    this.flush();
    const { code, message } = error;
    if (this.run.state === RunState.CANCELLED) {
      setRunState("cancelled");
      this.setProgress("Stopped", this.progress);
      showNotice("neutral", "You stopped this call",
        "The agent stopped where it was. Edit your call and try again whenever you like.");
    } else if (code === "invalid_request" || code === "message_too_large") {
      // The server refused the request itself: that belongs next to the prompt.
      setRunState("idle");
      ui.run.hidden = true;
      showFieldError(message.replace(/^invalid request:\s*/i, ""));
    } else if (this.restored && (code === "run_lost" || code === "expired")) {
      // A page reload tried to pick up a call the server has forgotten: just start fresh.
      forgetRun();
      setRunState("idle");
      ui.run.hidden = true;
    } else {
      setRunState("failed");
      this.setProgress("Failed", this.progress);
      const [title, text] = describeError(code, message);
      showNotice("danger", title, text, code);
    }
    ui.card.hidden = true;
  }

  ended() {
    clearInterval(this.timer);
    this.tick();
    ui.stop.hidden = true;
    ui.stop.disabled = false;
    ui.submit.hidden = false;
    ui.transcript.querySelector(".caret")?.remove();
    if (this.run.state !== RunState.FINISHED && !this.run.text && !ui.transcript.children.length) {
      ui.transcript.append(h("span", { class: "seg" }, ""));
    }
  }

  stop() {
    if (this.run.done || this.stopping) return;
    this.stopping = true;
    ui.stop.disabled = true;
    this.setProgress("Stopping…", this.progress);
    this.run.cancel();
  }
}

function describeError(code, message) {
  switch (code) {
    case "run_lost":
    case "expired":
      return ["This call can’t be recovered", "The server forgot it while the connection was down (it may have restarted). Please make the call again."];
    case "refused":
      return ["The server refused the connection", message];
    case "no_record":
      return ["The agent didn’t produce a record", "It stopped before it could write the verification plan. Try rephrasing your call."];
    default:
      return ["The agent couldn’t finish this call", message];
  }
}

function showNotice(tone, title, text, code) {
  ui.notice.dataset.tone = tone;
  ui.noticeTitle.textContent = title;
  ui.noticeText.replaceChildren(text, code ? h("span", {}, " ", h("code", {}, `(${code})`)) : "");
  ui.notice.hidden = false;
}

function setRunState(state) {
  ui.body.dataset.runState = state;
}

// -- composer ----------------------------------------------------------------------------------

function detectTimezone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function fillTimezones() {
  const detected = detectTimezone();
  let chosen = detected;
  try { chosen = localStorage.getItem(TZ_KEY) || detected; } catch { /* storage blocked */ }
  let zones = [];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch { zones = []; }
  const all = [...new Set([detected, chosen, "UTC", ...zones])].sort((a, b) => a.localeCompare(b));
  ui.timezone.replaceChildren(...all.map((zone) =>
    h("option", { value: zone }, zone === detected ? `${zone.replaceAll("_", " ")} (detected)` : zone.replaceAll("_", " "))));
  ui.timezone.value = chosen;
  ui.timezone.addEventListener("change", () => {
    try { localStorage.setItem(TZ_KEY, ui.timezone.value); } catch { /* storage blocked */ }
  });
}

function showFieldError(message) {
  ui.promptError.textContent = message;
  ui.promptError.hidden = false;
  ui.composer.dataset.invalid = "";
  ui.prompt.setAttribute("aria-invalid", "true");
  ui.prompt.focus();
}

function clearFieldError() {
  ui.promptError.hidden = true;
  delete ui.composer.dataset.invalid;
  ui.prompt.removeAttribute("aria-invalid");
}

function updateCounter() {
  const n = ui.prompt.value.length;
  ui.counter.textContent = `${n} / ${MAX_PROMPT}`;
  if (n > MAX_PROMPT * 0.9) ui.counter.dataset.near = "";
  else delete ui.counter.dataset.near;
}

function makeCall(prompt) {
  const text = prompt.trim();
  if (!text) {
    showFieldError("Write your call first — what do you think will happen?");
    return;
  }
  clearFieldError();
  const run = client.start("makecall", { prompt: text, timezone: ui.timezone.value || "UTC" });
  show(run, { prompt: text });
}

function show(run, info) {
  current?.dispose();
  current = new CallView(run, info);
  ui.submit.hidden = true;
  ui.stop.hidden = false;
}

function newCall() {
  current?.dispose();
  current = null;
  forgetRun();
  ui.run.hidden = true;
  setRunState("idle");
  ui.prompt.value = "";
  updateCounter();
  ui.prompt.focus();
}

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  if (current && !current.run.done) return;
  makeCall(ui.prompt.value);
});
ui.prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.prompt.addEventListener("input", () => {
  updateCounter();
  if (!ui.promptError.hidden) clearFieldError();
});
ui.stop.addEventListener("click", () => current?.stop());
ui.retry.addEventListener("click", () => makeCall(current?.prompt ?? ui.prompt.value));
ui.newcall.addEventListener("click", newCall);
ui.jump.addEventListener("click", () => {
  ui.transcript.scrollTo({ top: ui.transcript.scrollHeight, behavior: "smooth" });
  ui.jump.hidden = true;
});
ui.transcript.addEventListener("scroll", () => {
  if (current?.isAtBottom()) ui.jump.hidden = true;
  markScrolled();
}, { passive: true });

/** Fade the top edge of the transcript once its first lines scrolled out of view. */
function markScrolled() {
  ui.transcript.toggleAttribute("data-scrolled", ui.transcript.scrollTop > 4);
}

ui.copy.addEventListener("click", async () => {
  const record = current?.run.result;
  if (!record) return;
  const label = ui.copy.querySelector("span");
  try {
    await navigator.clipboard.writeText(JSON.stringify(record, null, 2));
    label.textContent = "Copied";
    setTimeout(() => { label.textContent = "Copy as JSON"; }, 1800);
  } catch {
    toast("Couldn’t reach the clipboard. Select the card’s text to copy it instead.", "danger");
  }
});
for (const example of document.querySelectorAll(".example")) {
  example.addEventListener("click", () => {
    ui.prompt.value = example.textContent;
    updateCounter();
    makeCall(example.textContent);
  });
}
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && current && !current.run.done) {
    e.preventDefault();
    current.stop();
  }
});
setInterval(() => current?.renderCountdown(), 30000);

// -- a reload picks the call back up ------------------------------------------------------------

function saveRun(runId, prompt) {
  try { sessionStorage.setItem(SAVED_RUN_KEY, JSON.stringify({ runId, prompt })); } catch { /* blocked */ }
}

function forgetRun() {
  try { sessionStorage.removeItem(SAVED_RUN_KEY); } catch { /* blocked */ }
}

function restoreRun() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(SAVED_RUN_KEY) || "null"); } catch { saved = null; }
  if (!saved?.runId) return;
  ui.prompt.value = saved.prompt ?? "";
  updateCounter();
  // lastSeq 0: replay the whole run, so the page shows it exactly as it streamed.
  show(client.resume(saved.runId, 0, "makecall"), { prompt: saved.prompt ?? "", restored: true });
}

// -- Log Call ----------------------------------------------------------------------------------

function resetLogButton() {
  ui.logcall.disabled = false;
  delete ui.logcall.dataset.done;
  ui.logcall.querySelector("span").textContent = "Log Call";
  ui.logcall.querySelector("svg").outerHTML = ICONS.bookmark;
}

ui.logcall.addEventListener("click", async () => {
  const run = current?.run;
  if (!run?.id || ui.logcall.dataset.done !== undefined) return;
  ui.logcall.disabled = true;
  ui.logcall.querySelector("span").textContent = "Logging…";
  try {
    await client.request("logcall", { runId: run.id });
    ui.logcall.dataset.done = "";
    ui.logcall.querySelector("span").textContent = "Logged";
    ui.logcall.querySelector("svg").outerHTML = ICONS.check;
    ui.logNote.replaceChildren("Saved. ", h("a", { href: "#calls" }, "See it in My Calls"));
    callsPage.stale = true;
    refreshCallsCount();
  } catch (err) {
    resetLogButton();
    if (err.code === "unknown_action") {
      callsAvailable = false;
      ui.logcall.hidden = true;
      ui.logNote.textContent = "This server doesn’t keep calls, so this one can’t be logged.";
    } else {
      toast(`Couldn’t log this call: ${err.message}`, "danger");
    }
  }
});

// -- My Calls ----------------------------------------------------------------------------------

const callsPage = { items: [], next: null, loading: false, stale: true };

async function fetchCalls(cursor) {
  const url = new URL("/api/calls", location.href);
  url.searchParams.set("user", user);
  if (cursor) url.searchParams.set("cursor", cursor);
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

function setCallsAvailable(available) {
  callsAvailable = available;
  ui.tabCalls.hidden = !available;
  ui.logcall.hidden = !available;
  document.querySelector(".tabs").hidden = !available;
  if (!available && ui.body.dataset.view === "calls") selectView("make");
}

async function refreshCallsCount() {
  try {
    const page = await fetchCalls();
    if (!page) return setCallsAvailable(false);
    setCallsAvailable(true);
    const n = page.calls?.length ?? 0;
    ui.callsCount.hidden = n === 0;
    ui.callsCount.textContent = page.next ? `${n}+` : String(n);
    ui.callsCount.setAttribute("aria-label", `${ui.callsCount.textContent} calls`);
  } catch {
    // The count is a nicety; the tab itself reports load errors.
  }
}

async function loadCalls(more = false) {
  if (callsPage.loading) return;
  callsPage.loading = true;
  ui.callsMore.disabled = true;
  if (!more) {
    ui.callsState.hidden = true;
    ui.calls.setAttribute("aria-busy", "true");
    if (!callsPage.items.length) ui.calls.replaceChildren(...[0, 1, 2].map(() => h("li", { class: "skeleton call-skeleton" })));
  }
  try {
    const page = await fetchCalls(more ? callsPage.next : null);
    if (!page) {
      setCallsAvailable(false);
      return;
    }
    callsPage.items = more ? [...callsPage.items, ...(page.calls ?? [])] : (page.calls ?? []);
    callsPage.next = page.next ?? null;
    callsPage.stale = false;
    renderCalls();
  } catch (err) {
    ui.calls.replaceChildren();
    callsState("alert", "Couldn’t load your calls", `${err.message}. Check your connection and try again.`, "Try again", () => loadCalls());
  } finally {
    callsPage.loading = false;
    ui.callsMore.disabled = false;
    ui.calls.setAttribute("aria-busy", "false");
  }
}

function callsState(icon, title, text, action, onAction) {
  const button = action ? h("button", { type: "button", class: "btn btn-secondary" }, action) : null;
  button?.addEventListener("click", onAction);
  ui.callsState.replaceChildren(
    h("span", { class: "calls-state-icon", html: ICONS[icon] }),
    h("h2", {}, title), h("p", {}, text), button);
  ui.callsState.hidden = false;
}

function renderCalls() {
  const items = callsPage.items;
  ui.callsMore.hidden = !callsPage.next;
  if (!items.length) {
    ui.calls.replaceChildren();
    ui.callsSummary.textContent = "";
    callsState("inbox", "No calls yet", "Make a call and log it: it shows up here, and gets a verdict once its date comes.",
               "Make a call", () => { selectView("make"); ui.prompt.focus(); });
    return;
  }
  ui.callsState.hidden = true;
  ui.calls.replaceChildren(...items.map((call, i) => renderCall(call, i)));
  const counts = {};
  for (const call of items) counts[call.status] = (counts[call.status] ?? 0) + 1;
  const parts = [h("strong", {}, `${items.length}${callsPage.next ? "+" : ""}`), ` ${items.length === 1 ? "call" : "calls"}`];
  for (const status of ["verified_true", "verified_false", "inconclusive", "pending"]) {
    if (counts[status]) parts.push(` · ${counts[status]} ${SUMMARY_WORDS[status]}`);
  }
  ui.callsSummary.replaceChildren(...parts);
}

function renderCall(call, index) {
  const record = call.record ?? {};
  const status = call.status ?? "pending";
  const label = STATUS_LABELS[status] ?? status;
  const verdict = call.verdict;
  const meta = h("div", { class: "call-meta" });
  const date = localDate(record.verification_date);
  const checked = localDate(verdict?.verified_at);
  if (checked) {
    const span = h("span", { html: ICONS.check });
    span.append(h("time", { datetime: verdict.verified_at }, `Checked ${dayFormat.format(checked)}`));
    meta.append(span);
  } else if (date) {
    const when = status === "pending" ? ` · ${relative.format(calendarDaysUntil(date), "day")}` : "";
    const span = h("span", { html: ICONS.calendar });
    span.append(h("time", { datetime: record.verification_date },
      `${status === "pending" ? "Check on" : "Due"} ${dayFormat.format(date)}`), when);
    meta.append(span);
  }
  if (typeof call.created_at === "number") {
    const span = h("span", { html: ICONS.clock });
    span.append(`Logged ${ago(new Date(call.created_at * 1000))}`);
    meta.append(span);
  }
  return h("li", { class: "call", style: `animation-delay:${Math.min(index, 8) * 40}ms`,
                   dataset: { callId: call.call_id ?? "", status } },
    h("div", { class: "call-top" },
      h("p", { class: "call-statement" }, record.prediction_statement ?? "(no statement)"),
      h("span", { class: "badge", dataset: { status }, "aria-label": `Status: ${label}` }, label)),
    meta,
    verdict ? h("p", { class: "verdict", dataset: { status: verdict.status ?? status } },
      h("strong", {}, "Verdict: "), verdict.reasoning || label) : null);
}

function ago(moment) {
  const minutes = Math.round((moment - Date.now()) / 60000);
  if (Math.abs(minutes) < 1) return "just now";
  if (Math.abs(minutes) < 60) return relative.format(minutes, "minute");
  if (Math.abs(minutes) < 1440) return relative.format(Math.round(minutes / 60), "hour");
  return relative.format(Math.round(minutes / 1440), "day");
}

ui.callsMore.addEventListener("click", () => loadCalls(true));

// -- views -------------------------------------------------------------------------------------

function selectView(view) {
  const calls = view === "calls" && callsAvailable !== false;
  ui.body.dataset.view = calls ? "calls" : "make";
  ui.viewMake.hidden = calls;
  ui.viewCalls.hidden = !calls;
  ui.tabMake.setAttribute("aria-selected", String(!calls));
  ui.tabCalls.setAttribute("aria-selected", String(calls));
  ui.tabMake.tabIndex = calls ? -1 : 0;
  ui.tabCalls.tabIndex = calls ? 0 : -1;
  const hash = calls ? "#calls" : "";
  if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname + location.search);
  if (calls && (callsPage.stale || !callsPage.items.length)) loadCalls();
}

ui.tabMake.addEventListener("click", () => selectView("make"));
ui.tabCalls.addEventListener("click", () => selectView("calls"));
for (const tab of [ui.tabMake, ui.tabCalls]) {
  tab.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight" && e.key !== "Home" && e.key !== "End") return;
    if (ui.tabCalls.hidden) return;
    e.preventDefault();
    const next = tab === ui.tabMake ? ui.tabCalls : ui.tabMake;
    selectView(next === ui.tabCalls ? "calls" : "make");
    next.focus();
  });
}
window.addEventListener("hashchange", () => selectView(location.hash === "#calls" ? "calls" : "make"));

// -- toast -------------------------------------------------------------------------------------

let toastTimer = 0;
function toast(message, tone = "") {
  ui.toast.textContent = message;
  ui.toast.dataset.tone = tone;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 5000);
}

// -- start -------------------------------------------------------------------------------------

fillTimezones();
updateCounter();
restoreRun();
refreshCallsCount().then(() => {
  if (location.hash === "#calls") selectView("calls");
});
if (location.hash !== "#calls") ui.prompt.focus({ preventScroll: true });
