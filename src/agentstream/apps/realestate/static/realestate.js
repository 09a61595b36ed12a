// Real-Estate Agent page: ask a question, watch it being routed to a specialist, its document
// search and tool calls, and its answer streaming in; the result names the agent and sources.
import { AgentStream, Status } from "/static/agentstream.js";

const $ = (id) => document.getElementById(id);
const ui = {
  conn: $("conn"), connLabel: $("conn-label"), connRetry: $("conn-retry"), ask: $("ask"),
  question: $("question"), context: $("context"), queryType: $("query-type"), send: $("send"),
  stop: $("stop"), run: $("run"), timeline: $("timeline"), answer: $("answer"), result: $("result"),
};
const CONN_TEXT = {
  [Status.CONNECTING]: "Connecting…", [Status.LIVE]: "Connected",
  [Status.RECONNECTING]: "Reconnecting…", [Status.OFFLINE]: "Offline",
};

const client = new AgentStream({ dialect: "agentstream" });
let current = null;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function step(text, kind = "status") {
  const item = h("li", { "data-kind": kind }, text);
  ui.timeline.append(item);
  return item;
}

// Status lines carry objects ({message, agent, sources}); read them from the raw frames.
client.addEventListener("message", (e) => {
  const frame = e.detail.frame;
  if (!current || frame.runId !== current.id || frame.type !== "CUSTOM" || frame.name !== "status") return;
  const value = typeof frame.value === "object" && frame.value ? frame.value : { message: String(frame.value) };
  step(value.message);
});

function ask(question, context, queryType) {
  ui.run.hidden = false;
  ui.timeline.replaceChildren();
  ui.answer.textContent = "";
  ui.answer.classList.add("typing");
  ui.result.hidden = true;
  step("Processing your query...");
  const payload = { question, query_type: queryType };
  if (context) payload.context = context;
  const run = client.start("invoke", payload);
  current = run;
  setBusy(true);
  const tools = new Map();
  run.on("tool", (e) => tools.set(e.detail.id, step(`Using ${e.detail.name}(${JSON.stringify(e.detail.input)})`, "tool")));
  run.on("tool_result", (e) => tools.get(e.detail.id)?.setAttribute("data-done", e.detail.status));
  let lastMessage = null;
  run.on("custom", (e) => {
    if (e.detail.name !== "message") return;
    // A complete message moves to the timeline; the answer area starts over for the next one.
    lastMessage = step(e.detail.value.content, "message");
    ui.answer.textContent = "";
  });
  run.on("text", (e) => { ui.answer.textContent += e.detail.delta; });
  run.on("complete", (e) => {
    if (lastMessage?.textContent === e.detail.result?.content) lastMessage.remove();
    showResult(e.detail.result);
  });
  run.on("error", (e) => {
    ui.answer.classList.add("failed");
    ui.answer.textContent = `⚠ ${e.detail.message}`;
  });
  run.on("end", () => {
    ui.answer.classList.remove("typing");
    current = null;
    setBusy(false);
  });
}

function showResult(data) {
  ui.answer.textContent = data?.content || ui.answer.textContent;
  const sources = (data?.sources ?? []).map((s) => h("li", {}, `${s.doc} § ${s.section}`,
    h("span", { class: "score" }, ` ${Math.round(s.score * 100)}%`)));
  ui.result.replaceChildren(
    h("div", { class: "facts" },
      h("span", { class: "badge" }, `${data.agent} agent`),
      h("span", {}, `query type: ${data.query_type}`),
      h("span", {}, `tools used: ${data.tools_used} of ${data.tools_available}`)),
    sources.length ? h("div", {}, h("h3", {}, "Sources"), h("ol", { class: "sources" }, ...sources)) : "");
  ui.result.hidden = false;
}

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
}

client.addEventListener("status", () => {
  ui.conn.dataset.status = client.status;
  ui.connLabel.textContent = CONN_TEXT[client.status] ?? client.status;
  ui.connRetry.hidden = client.status !== Status.OFFLINE;
});
ui.connRetry.addEventListener("click", () => client.retryNow());
ui.ask.addEventListener("submit", (e) => {
  e.preventDefault();
  const question = ui.question.value.trim();
  if (!question || current) return;
  ask(question, ui.context.value.trim(), ui.queryType.value);
});
ui.stop.addEventListener("click", () => current?.cancel());
