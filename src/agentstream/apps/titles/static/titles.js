// Title Generator page: a chat whose answers stream in after a four-stage progress display.
// The conversation of each project is kept by the server, so another tab (or this one after a
// reconnect) shows the same thread.
import { AgentStream, Status } from "/static/agentstream.js";

const $ = (id) => document.getElementById(id);
const ui = {
  conn: $("conn"), connLabel: $("conn-label"), connRetry: $("conn-retry"),
  projectForm: $("project-form"), project: $("project"), log: $("log"), empty: $("empty"),
  composer: $("composer"), input: $("input"), send: $("send"), stop: $("stop"),
};
const STAGES = ["initializing", "analyzing", "generating", "finalizing"];
const CONN_TEXT = {
  [Status.CONNECTING]: "Connecting…", [Status.LIVE]: "Real-time streaming connected",
  [Status.RECONNECTING]: "Reconnecting…", [Status.OFFLINE]: "Offline",
};

// The page speaks the canonical dialect; the seed's `titles` dialect is the server default.
const client = new AgentStream({ dialect: "agentstream" });
let projectId = localStorage.getItem("titles.project") || "my-project";
let current = null; // the run being streamed

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function bubble(role, text = "") {
  ui.empty.hidden = true;
  const body = h("div", { class: "body" }, text);
  const node = h("article", { class: `msg ${role}` }, body);
  ui.log.append(node);
  node.scrollIntoView({ block: "end", behavior: "smooth" });
  return { node, body };
}

async function loadHistory() {
  if (current) return; // the live run owns the log until it ends
  try {
    const reply = await client.request("history", { projectId });
    if (current) return;
    ui.log.querySelectorAll(".msg").forEach((m) => m.remove());
    for (const m of reply.messages ?? []) bubble(m.role === "assistant" ? "assistant" : "user", m.content);
    ui.empty.hidden = (reply.messages ?? []).length > 0;
  } catch (err) {
    console.warn("history:", err.message);
  }
}

// The engine's prompt-reading counts, shown inside the generating stage (as the titles dialect
// renders them for the seed's client): 50% at the start of the prompt, 80% once it is read.
function fromEngine(value) {
  const total = value.total || 0;
  const done = total > 0 ? Math.min(value.processed || 0, total) / total : 0;
  const cached = value.cached ? ` (${value.cached} from cache)` : "";
  return {
    stage: "generating",
    step: `Reading the prompt: ${value.processed || 0}/${total} tokens${cached}...`,
    progress: 50 + Math.floor(done * 30),
  };
}

function renderProgress(box, raw) {
  const value = raw.stage === "prompt" ? fromEngine(raw) : raw;
  const index = STAGES.indexOf(value.stage);
  box.querySelector(".progress-pct").textContent = `${value.progress}%`;
  box.querySelector(".progress-fill").style.width = `${value.progress}%`;
  box.querySelector(".progress-step").textContent = value.step;
  box.querySelectorAll(".stages li").forEach((li, i) => {
    li.dataset.state = i < index ? "done" : i === index ? "current" : "todo";
  });
}

function send(text) {
  const question = bubble("user", text);
  question.node.dataset.pending = "true";
  const answer = bubble("assistant");
  const progress = document.getElementById("progress-tpl").content.firstElementChild.cloneNode(true);
  answer.body.replaceWith(progress);
  const indicator = h("span", { class: "streaming", hidden: "" }, "Streaming…");
  answer.node.append(answer.body, indicator);
  const run = client.start("stream", { projectId, userInput: text });
  current = run;
  setBusy(true);
  run.on("custom", (e) => {
    if (e.detail.name === "progress" && !answer.body.textContent) renderProgress(progress, e.detail.value);
  });
  run.on("text", () => {
    progress.hidden = true;
    indicator.hidden = false;
    answer.body.textContent = run.text;
    answer.node.scrollIntoView({ block: "end" });
  });
  run.on("complete", (e) => {
    answer.body.textContent = e.detail.result?.fullContent ?? run.text;
  });
  run.on("error", (e) => {
    answer.node.classList.add("failed");
    answer.body.textContent = (run.text ? run.text + "\n\n" : "") + `⚠ ${e.detail.message}`;
  });
  run.on("end", () => {
    progress.remove();
    indicator.remove();
    delete question.node.dataset.pending;
    current = null;
    setBusy(false);
  });
}

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.input.disabled = busy;
  if (!busy) ui.input.focus();
}

function renderConnection() {
  ui.conn.dataset.status = client.status;
  ui.connLabel.textContent = CONN_TEXT[client.status] ?? client.status;
  ui.connRetry.hidden = client.status !== Status.OFFLINE;
}

client.addEventListener("status", () => {
  renderConnection();
  if (client.status === Status.LIVE) loadHistory();
});
ui.connRetry.addEventListener("click", () => client.retryNow());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && client.status === Status.LIVE) loadHistory();
});

ui.project.value = projectId;
ui.projectForm.addEventListener("submit", (e) => {
  e.preventDefault();
  if (!ui.project.checkValidity() || current) return;
  projectId = ui.project.value.trim();
  localStorage.setItem("titles.project", projectId);
  loadHistory();
});
ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.input.value.trim();
  if (!text || current) return;
  ui.input.value = "";
  send(text);
});
ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener("click", () => current?.cancel());
renderConnection();
