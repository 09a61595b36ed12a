// CalledIt — the card's footer: Log Call (a request/reply action) and Copy as JSON.

import { ICONS, h } from "./dom.js";
import { callsPage, refreshCallsCount } from "./mycalls.js";
import { client, state, toast, ui } from "./page.js";

export function resetLogButton() {
  ui.logcall.disabled = false;
  delete ui.logcall.dataset.done;
  ui.logcall.querySelector("span").textContent = "Log Call";
  ui.logcall.querySelector("svg").outerHTML = ICONS.bookmark;
}

async function logCall() {
  const run = state.current?.run;
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
      state.callsAvailable = false;
      ui.logcall.hidden = true;
      ui.logNote.textContent = "This server doesn’t keep calls, so this one can’t be logged.";
    } else {
      toast(`Couldn’t log this call: ${err.message}`, "danger");
    }
  }
}

async function copyRecord() {
  const record = state.current?.run.result;
  if (!record) return;
  const label = ui.copy.querySelector("span");
  try {
    await navigator.clipboard.writeText(JSON.stringify(record, null, 2));
    label.textContent = "Copied";
    setTimeout(() => { label.textContent = "Copy as JSON"; }, 1800);
  } catch {
    toast("Couldn’t reach the clipboard. Select the card’s text to copy it instead.", "danger");
  }
}

export function setUpCardActions() {
  ui.logcall.addEventListener("click", logCall);
  ui.copy.addEventListener("click", copyRecord);
}
