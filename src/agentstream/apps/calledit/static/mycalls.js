// CalledIt — My Calls: the logged calls, newest first, a page at a time (GET /api/calls), and
// the two tabs. Hidden while the server keeps no calls (the endpoint answers 404).

import { ICONS, STATUS_LABELS, h } from "./dom.js";
import { ago, calendarDaysUntil, dayFormat, localDate, relative } from "./format.js";
import { state, ui } from "./page.js";

const SUMMARY_WORDS = {
  verified_true: "called",
  verified_false: "missed",
  inconclusive: "inconclusive",
  pending: "pending",
};

export const callsPage = { items: [], next: null, loading: false, stale: true };

async function fetchCalls(cursor) {
  const url = new URL("/api/calls", location.href);
  if (cursor) url.searchParams.set("cursor", cursor);
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

function setCallsAvailable(available) {
  state.callsAvailable = available;
  ui.tabCalls.hidden = !available;
  ui.logcall.hidden = !available;
  document.querySelector(".tabs").hidden = !available;
  if (!available && ui.body.dataset.view === "calls") selectView("make");
}

/** Ask the server whether it keeps calls, and how many this user has (the tab's badge). */
export async function refreshCallsCount() {
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

function callMeta(call, record, status) {
  const meta = h("div", { class: "call-meta" });
  const verdict = call.verdict;
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
  return meta;
}

function renderCall(call, index) {
  const record = call.record ?? {};
  const status = call.status ?? "pending";
  const label = STATUS_LABELS[status] ?? status;
  const verdict = call.verdict;
  return h("li", { class: "call", style: `animation-delay:${Math.min(index, 8) * 40}ms`,
                   dataset: { callId: call.call_id ?? "", status } },
    h("div", { class: "call-top" },
      h("p", { class: "call-statement" }, record.prediction_statement ?? "(no statement)"),
      h("span", { class: "badge", dataset: { status }, "aria-label": `Status: ${label}` }, label)),
    callMeta(call, record, status),
    verdict ? h("p", { class: "verdict", dataset: { status: verdict.status ?? status } },
      h("strong", {}, "Verdict: "), verdict.reasoning || label) : null);
}

/** Show the "make" or the "calls" tab (calls only while the server keeps them). */
export function selectView(view) {
  const calls = view === "calls" && state.callsAvailable !== false;
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

/** Wire the tabs (click, arrow keys, the URL's #calls) and the "more" button. */
export function setUpMyCalls() {
  ui.callsMore.addEventListener("click", () => loadCalls(true));
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
}
