// CalledIt — one call on screen: wires a run's events to the transcript, the card, the
// progress line and the notices.

import { RunState, Status } from "/static/agentstream.js";
import { Card } from "./card.js";
import { longDayFormat, localDate, promptProgress, toolDate } from "./format.js";
import { resetLogButton } from "./logcall.js";
import { client, forgetRun, saveRun, setRunState, showFieldError, showNotice, state, ui } from "./page.js";
import { Transcript, toolMeta } from "./transcript.js";

export class CallView {
  /** @param {import("/static/agentstream.js").Run} run @param {{prompt: string, restored?: boolean}} info */
  constructor(run, info) {
    this.run = run;
    this.prompt = info.prompt;
    this.restored = !!info.restored;
    this.startedAt = performance.now();
    this.progress = 0;
    this.stopping = false;
    this.wasDropped = false;
    this.timer = setInterval(() => this.tick(), 100);
    this.cleanup = [];
    ui.run.hidden = false;
    ui.run.dataset.runId = run.id ?? "";
    ui.notice.hidden = true;
    ui.logNote.textContent = "";
    resetLogButton();
    this.transcript = new Transcript();
    this.card = new Card();
    setRunState("streaming");
    this.setProgress(client.status === Status.LIVE || client.fallback ? "Sending your call…" : "Waiting for the connection…", 6);
    this.listen();
  }

  listen() {
    const on = (type, fn) => this.cleanup.push(this.run.on(type, (e) => fn(e.detail)));
    on("started", () => this.started());
    on("text", (e) => this.text(e.delta));
    on("tool", (e) => this.toolStarted(e));
    on("tool_result", (e) => this.toolFinished(e));
    on("status", (e) => {
      if (e.status === "complete") this.setProgress("Writing the record…", 92);
      if (e.status === "retrying") this.retrying();
    });
    on("custom", (e) => {
      if (e.name === "progress") this.engineProgress(e.value);
    });
    on("state", () => this.partial());
    on("state_delta", () => this.partial());
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
    this.transcript.dispose();
    this.cleanup.forEach((off) => off());
  }

  tick() {
    const seconds = (performance.now() - this.startedAt) / 1000;
    ui.progressTime.textContent = `${seconds.toFixed(1)} s`;
  }

  /** The progress line (announced) and bar; the bar never goes back. */
  setProgress(text, percent, detail = "") {
    this.progress = Math.max(this.progress, percent);
    if (ui.progressText.textContent !== text) ui.progressText.textContent = text;
    ui.progressDetail.textContent = detail;
    ui.progressFill.style.width = `${this.progress}%`;
  }

  /** The engine's own count of prompt tokens read: real numbers, never a timer. */
  engineProgress(value) {
    const prompt = promptProgress(value);
    if (!prompt) return;
    const reading = prompt.fraction < 1 ? "Reading your call…" : "Thinking…";
    this.setProgress(reading, 15 + Math.round(prompt.fraction * 15), prompt.detail);
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

  started() {
    ui.run.dataset.runId = this.run.id;
    saveRun(this.run.id, this.prompt);
    this.card.show();
    this.setProgress("Reading your call…", 15);
  }

  text(delta) {
    this.transcript.append(delta);
    const tools = [...this.run.tools.values()];
    if (this.progress < 70 && tools.length > 0 && tools.every((t) => t.status !== "running")) {
      this.setProgress("Drafting how to verify it…", 75);
    }
  }

  toolStarted(event) {
    this.transcript.addTool(event);
    this.setProgress(toolMeta(event.name).progress, event.name === "parse_relative_date" ? 50 : 32);
  }

  toolFinished(event) {
    this.transcript.finishTool(event);
    if (event.name === "parse_relative_date") {
      const date = toolDate(event.content);
      if (date) this.card.fill({ verification_date: date }, false);
    }
    this.setProgress("Drafting how to verify it…", 62);
  }

  /** A partial record (snapshot or patched): fill what it has. */
  /** The server threw the draft away (it copied a prompt example) and asks the model again. */
  retrying() {
    this.transcript.discard();
    this.setProgress("The draft borrowed an example's names — writing it again…", 80);
  }

  partial() {
    this.card.fill(this.run.snapshot, false);
    this.setProgress("Writing the record…", 80);
  }

  complete(result) {
    this.transcript.flush();
    this.card.finish(result);
    ui.logcall.hidden = state.callsAvailable !== true;
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    const date = localDate(result?.verification_date);
    this.setProgress(`Record ready in ${seconds} s${date ? ` — check it on ${longDayFormat.format(date)}` : ""}`, 100);
    setRunState("finished");
  }

  failed(error) {
    this.transcript.flush();
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
    this.card.hide();
  }

  ended() {
    clearInterval(this.timer);
    this.tick();
    ui.stop.hidden = true;
    ui.stop.disabled = false;
    ui.submit.hidden = false;
    this.transcript.end(this.run.state === RunState.FINISHED || !!this.run.text);
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
