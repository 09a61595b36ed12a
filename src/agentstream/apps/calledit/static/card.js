// CalledIt — the record card. It fills field by field as the record streams in (`state` and
// `state_delta` frames give a partial record; `parse_relative_date`'s result gives the date
// early) and the run's `complete` record wins over whatever partial state came before.

import { STATUS_LABELS, h } from "./dom.js";
import { countdown, dayFormat, localDate, longDayFormat } from "./format.js";
import { ui } from "./page.js";

const LISTS = [["source", "sources"], ["criteria", "criteria"], ["steps", "steps"]];

export class Card {
  constructor() {
    /** Field name → what is on screen for it (to skip re-rendering an unchanged field). */
    this.shown = {};
    /** Fields that have animated in once. */
    this.revealed = new Set();
    this.reset();
  }

  /** Skeletons everywhere, badge "Drafting", hidden until the run starts. */
  reset() {
    ui.card.hidden = true;
    ui.card.setAttribute("aria-busy", "true");
    ui.cardFoot.hidden = true;
    for (const node of ui.card.querySelectorAll(".filled")) {
      node.classList.remove("filled");
      node.style.animationDelay = "";
    }
    ui.badge.dataset.status = "draft";
    ui.badge.textContent = STATUS_LABELS.draft;
    ui.statement.replaceChildren(h("span", { class: "skeleton skeleton-title" }));
    ui.date.replaceChildren(h("span", { class: "skeleton skeleton-line" }));
    ui.countdown.replaceChildren(h("span", { class: "skeleton skeleton-line" }));
    for (const [, id] of LISTS) {
      ui[id].replaceChildren(h("li", { class: "skeleton-item" }, h("span", { class: "skeleton skeleton-line" })));
    }
  }

  show() {
    ui.card.hidden = false;
  }

  hide() {
    ui.card.hidden = true;
  }

  /** Put whatever fields `record` has into the card; each field animates in once. */
  fill(record, final) {
    if (!record || typeof record !== "object") return;
    this.show();
    let order = 0;
    const reveal = (name, node) => {
      if (this.revealed.has(name)) return;
      this.revealed.add(name);
      node.classList.remove("filled");
      void node.offsetWidth; // restart the animation
      node.style.animationDelay = final ? `${order++ * 70}ms` : "0ms";
      node.classList.add("filled");
    };
    const statement = record.prediction_statement;
    if (typeof statement === "string" && statement && this.shown.statement !== statement) {
      this.shown.statement = statement;
      ui.statement.textContent = statement;
      reveal("statement", ui.statement);
    }
    if (this.fillDate(record.verification_date)) reveal("date", ui.date.parentElement);
    const method = record.verification_method ?? {};
    for (const [name, id] of LISTS) {
      const items = Array.isArray(method[name]) ? method[name].filter((i) => i != null && i !== "") : null;
      if (!items?.length) continue;
      const key = JSON.stringify(items);
      if (this.shown[name] === key) continue;
      this.shown[name] = key;
      ui[id].replaceChildren(...items.map((item) => h("li", {}, String(item))));
      reveal(name, ui[id].parentElement);
    }
  }

  /** Show a (new) verification date; true when it changed. */
  fillDate(iso) {
    // A partial date ("2026-1") is not a date yet: wait for all ten characters.
    if (typeof iso !== "string" || !localDate(iso) || this.shown.date === iso) return false;
    this.shown.date = iso;
    this.revealed.delete("date");
    const date = localDate(iso);
    ui.date.replaceChildren(h("time", { datetime: iso, title: longDayFormat.format(date) }, dayFormat.format(date)));
    this.renderCountdown();
    return true;
  }

  renderCountdown() {
    const iso = this.shown.date;
    if (!iso) return;
    const { text, sub } = countdown(iso);
    ui.countdown.replaceChildren(text, " ", h("span", { class: "fact-sub" }, sub));
  }

  /** The validated record arrived: it wins; the card stops being busy and shows its status. */
  finish(record) {
    this.fill(record, true);
    ui.card.setAttribute("aria-busy", "false");
    ui.badge.dataset.status = record?.initial_status ?? "pending";
    ui.badge.textContent = STATUS_LABELS[ui.badge.dataset.status] ?? ui.badge.dataset.status;
    ui.cardFoot.hidden = false;
  }
}
