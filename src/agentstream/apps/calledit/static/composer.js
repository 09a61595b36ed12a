// CalledIt — the composer: the prompt, its timezone, Make call / Stop / New call, the examples,
// the keyboard, and picking the call back up after a reload.

import { CallView } from "./callview.js";
import { h } from "./dom.js";
import { SAVED_RUN_KEY, clearFieldError, client, forgetRun, markScrolled, setRunState, showFieldError, state, ui } from "./page.js";

const MAX_PROMPT = 2000;
const TZ_KEY = "calledit.timezone";

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
  state.current?.dispose();
  state.current = new CallView(run, info);
  ui.submit.hidden = true;
  ui.stop.hidden = false;
}

function newCall() {
  state.current?.dispose();
  state.current = null;
  forgetRun();
  ui.run.hidden = true;
  setRunState("idle");
  ui.prompt.value = "";
  updateCounter();
  ui.prompt.focus();
}

/** A reload picks the call back up: replay the saved run from seq 0, as it streamed. */
function restoreRun() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(SAVED_RUN_KEY) || "null"); } catch { saved = null; }
  if (!saved?.runId) return;
  ui.prompt.value = saved.prompt ?? "";
  updateCounter();
  show(client.resume(saved.runId, 0, "makecall"), { prompt: saved.prompt ?? "", restored: true });
}

function wireKeys() {
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.current && !state.current.run.done) {
      e.preventDefault();
      state.current.stop();
    }
  });
}

function wireTranscript() {
  ui.jump.addEventListener("click", () => {
    ui.transcript.scrollTo({ top: ui.transcript.scrollHeight, behavior: "smooth" });
    ui.jump.hidden = true;
  });
  ui.transcript.addEventListener("scroll", () => {
    if (state.current?.transcript.isAtBottom()) ui.jump.hidden = true;
    markScrolled();
  }, { passive: true });
}

/** Wire the composer and pick up a call saved before a reload. */
export function setUpComposer() {
  fillTimezones();
  updateCounter();
  ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.current && !state.current.run.done) return;
    makeCall(ui.prompt.value);
  });
  ui.prompt.addEventListener("input", () => {
    updateCounter();
    if (!ui.promptError.hidden) clearFieldError();
  });
  ui.stop.addEventListener("click", () => state.current?.stop());
  ui.retry.addEventListener("click", () => makeCall(state.current?.prompt ?? ui.prompt.value));
  ui.newcall.addEventListener("click", newCall);
  for (const example of document.querySelectorAll(".example")) {
    example.addEventListener("click", () => {
      ui.prompt.value = example.textContent;
      updateCounter();
      makeCall(example.textContent);
    });
  }
  wireKeys();
  wireTranscript();
  setInterval(() => state.current?.card.renderCountdown(), 30000);
  restoreRun();
}
