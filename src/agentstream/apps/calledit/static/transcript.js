// CalledIt — the live transcript: streamed text, and a chip for each tool that ran.
//
// Text is batched per animation frame and appended to one text node per segment: nothing on
// screen re-renders, so nothing flickers and a selection survives. The view follows the stream
// only while the reader is at the bottom; if they scrolled up to read, it leaves them there and
// offers a way back.

import { ICONS, TOOLS, h } from "./dom.js";
import { resultSummary, summarize } from "./format.js";
import { markScrolled, ui } from "./page.js";

export class Transcript {
  constructor() {
    this.segment = null;
    this.textNode = null;
    this.pending = "";
    this.frame = 0;
    /** @type {Map<string, {chip: HTMLElement, result: HTMLElement}>} */
    this.toolNodes = new Map();
    ui.transcript.replaceChildren();
    ui.transcript.removeAttribute("data-scrolled");
    ui.jump.hidden = true;
  }

  dispose() {
    cancelAnimationFrame(this.frame);
  }

  append(delta) {
    this.pending += delta;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
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

  /** The text so far was a discarded draft: shown struck through; new text starts afresh. */
  discard() {
    this.flush();
    if (!this.segment) return;
    this.segment.classList.add("seg-discarded");
    this.segment.title = "A discarded draft: it borrowed an example's names";
    this.segment = null;
    this.textNode = null;
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

  afterGrowth(follow) {
    if (follow) {
      ui.transcript.scrollTop = ui.transcript.scrollHeight;
      ui.jump.hidden = true;
    } else {
      ui.jump.hidden = false;
    }
    markScrolled();
  }

  /** A chip for a tool that started: its label, input, and (later) its result. */
  addTool(event) {
    this.flush();
    this.segment = null; // text after the tool starts a new segment below the chips
    const follow = this.isAtBottom();
    let list = ui.transcript.lastElementChild;
    if (!list || !list.classList.contains("tools")) {
      list = h("ul", { class: "tools", "aria-label": "Tools used" });
      ui.transcript.append(list);
    }
    const meta = toolMeta(event.name);
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
    this.placeCaret();
    this.afterGrowth(follow);
  }

  /** The tool returned: its chip shows success or failure and what it found. */
  finishTool(event) {
    const node = this.toolNodes.get(event.id);
    if (!node) return;
    const failed = event.status === "error";
    node.chip.dataset.status = failed ? "error" : "success";
    node.chip.querySelector(".tool-state").setAttribute("aria-label", failed ? "failed" : "done");
    node.result.textContent = "→ " + resultSummary(event.content);
  }

  /** The run ended: no caret; an empty transcript keeps its height. */
  end(hadText) {
    this.flush();
    ui.transcript.querySelector(".caret")?.remove();
    if (!hadText && !ui.transcript.children.length) ui.transcript.append(h("span", { class: "seg" }, ""));
  }
}

/** How a tool shows: its label, icon and progress line (a generic one for unknown tools). */
export function toolMeta(name) {
  return TOOLS[name] ?? { label: name, icon: "tool", progress: `Running ${name}…` };
}
