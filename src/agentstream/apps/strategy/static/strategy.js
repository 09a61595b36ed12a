// Strategy Builder page: chat on the left; on the right the strategy the answer's <backend> JSON
// describes (flowchart, risk class, metrics, guardrails), filled in part by part as it streams.
import { AgentStream, Status, applyPatch } from "/static/agentstream.js";

const $ = (id) => document.getElementById(id);
const ui = {
  conn: $("conn"), connLabel: $("conn-label"), connRetry: $("conn-retry"), log: $("log"),
  empty: $("empty"), composer: $("composer"), input: $("input"), send: $("send"), stop: $("stop"),
  builder: $("builder"), risk: $("risk"), notice: $("notice"), capital: $("capital"),
  monthly: $("monthly"), flow: $("flow"), guardrails: $("guardrails"),
};
const CONN_TEXT = {
  [Status.CONNECTING]: "Connecting…", [Status.LIVE]: "Connected",
  [Status.RECONNECTING]: "Reconnecting…", [Status.OFFLINE]: "Offline",
};
const SVG = "http://www.w3.org/2000/svg";
const money = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", currencyDisplay: "narrowSymbol", maximumFractionDigits: 0 });

const client = new AgentStream({ dialect: "agentstream", url: wsUrl() });
let strategy = null; // the strategy shown (the last good one, or a new one filling in)
let current = null;

function wsUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat`;
}

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
  const node = h("article", { class: `msg ${role}` }, text);
  ui.log.append(node);
  node.scrollIntoView({ block: "end", behavior: "smooth" });
  return node;
}

// -- the builder panel -------------------------------------------------------------------------

function render(s) {
  const risk = s?.degen_class?.selected ?? "";
  ui.risk.dataset.risk = risk;
  ui.risk.textContent = risk ? `${risk} risk` : "No strategy yet";
  const m = s?.strategy_metrics;
  ui.capital.textContent = m ? money.format(m.estimated_capital_required_usd) : "—";
  ui.monthly.textContent = m ? `${m.impact_monthly_return_delta_pct}%` : "—";
  renderGuardrails(s?.guardrails?.enabled ?? []);
  renderFlow(s?.flowchart);
}

function renderGuardrails(items) {
  ui.guardrails.replaceChildren(...(items.length ? items.map((g) =>
    h("li", { "data-status": g.status ?? "active" }, h("span", { class: "dot" }), g.name,
      g.value != null ? h("span", { class: "value" }, String(g.value)) : "")) :
    [h("li", { class: "placeholder" }, "None yet")]));
}

// Nodes go in layers by their longest distance from an entry (cycles are cut at n layers).
function layout(chart) {
  const n = chart.nodes.length;
  const depth = new Map(chart.nodes.map((node) => [node.id, 0]));
  for (let pass = 0; pass < n; pass++) {
    for (const e of chart.edges ?? []) {
      const next = (depth.get(e.source) ?? 0) + 1;
      if (depth.has(e.target) && next < n && depth.get(e.target) < next) depth.set(e.target, next);
    }
  }
  const layers = [];
  for (const node of chart.nodes) (layers[depth.get(node.id)] ??= []).push(node);
  const pos = new Map();
  layers.filter(Boolean).forEach((layer, row) => layer.forEach((node, col) => {
    pos.set(node.id, { x: (col + 0.5) * (320 / layer.length), y: 30 + row * 80 });
  }));
  return pos;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

function renderFlow(chart) {
  if (!chart?.nodes?.length) {
    ui.flow.replaceChildren(h("p", { class: "placeholder" }, "The flowchart appears here as the strategy streams in."));
    return;
  }
  const pos = layout(chart);
  const height = Math.max(...[...pos.values()].map((p) => p.y)) + 40;
  const root = svg("svg", { viewBox: `0 0 320 ${height}`, role: "img", "aria-label": "Strategy flowchart" });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
                                 markerWidth: "7", markerHeight: "7", orient: "auto" });
  marker.append(svg("path", { d: "M0 0L10 5L0 10z", class: "arrowhead" }));
  const defs = svg("defs", {});
  defs.append(marker);
  root.append(defs);
  for (const e of chart.edges ?? []) {
    const a = pos.get(e.source), b = pos.get(e.target);
    if (!a || !b) continue;
    root.append(svg("line", { x1: a.x, y1: a.y + 18, x2: b.x, y2: b.y - 20, class: "edge", "marker-end": "url(#arrow)" }));
    if (e.label) root.append(svg("text", { x: (a.x + b.x) / 2 + 6, y: (a.y + b.y) / 2 + 4, class: "edge-label" }, e.label));
  }
  for (const n of chart.nodes) {
    const p = pos.get(n.id);
    root.append(svg("rect", { x: p.x - 70, y: p.y - 18, width: 140, height: 36, rx: 9, class: `node node-${n.type}` }));
    root.append(svg("text", { x: p.x, y: p.y + 4, class: "node-label", "text-anchor": "middle" },
      n.label.length > 24 ? n.label.slice(0, 23) + "…" : n.label));
  }
  ui.flow.replaceChildren(root);
}

function notice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text ?? "";
}

// -- chat --------------------------------------------------------------------------------------

function send(text) {
  bubble("user", text);
  const answer = bubble("assistant");
  answer.classList.add("typing");
  const run = client.start("chat", { message: text });
  current = run;
  setBusy(true);
  notice("");
  // Parts patch a draft over the current strategy as they arrive, so the panel fills section by
  // section; the closing snapshot is the strategy that now holds (the last good one on a failure).
  let draft = strategy;
  run.on("text", () => { answer.textContent = run.text; });
  run.on("state_delta", (e) => { draft = applyPatch(draft ?? {}, e.detail.delta); render(draft); });
  run.on("state", (e) => { strategy = draft = e.detail.snapshot; render(strategy); });
  run.on("custom", (e) => {
    if (e.detail.name === "strategy_error") notice(`Couldn't update the strategy: ${e.detail.value.message}. The last good strategy is kept.`);
  });
  run.on("complete", (e) => { answer.textContent = e.detail.result?.user_message || run.text; });
  run.on("error", (e) => {
    answer.classList.add("failed");
    answer.textContent = (run.text ? run.text + "\n\n" : "") + `⚠ ${e.detail.message}`;
    render(strategy);
  });
  run.on("end", () => {
    answer.classList.remove("typing");
    current = null;
    setBusy(false);
  });
}

async function loadHistory() {
  if (current) return;
  try {
    const reply = await client.request("history", {});
    if (current) return;
    ui.log.querySelectorAll(".msg").forEach((m) => m.remove());
    for (const m of reply.messages ?? []) bubble(m.role === "assistant" ? "assistant" : "user", m.content);
    ui.empty.hidden = (reply.messages ?? []).length > 0;
    strategy = reply.strategy_json ?? null;
    render(strategy);
  } catch (err) {
    console.warn("history:", err.message);
  }
}

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.input.disabled = busy;
  ui.builder.setAttribute("aria-busy", String(busy));
  if (!busy) ui.input.focus();
}

client.addEventListener("status", () => {
  ui.conn.dataset.status = client.status;
  ui.connLabel.textContent = CONN_TEXT[client.status] ?? client.status;
  ui.connRetry.hidden = client.status !== Status.OFFLINE;
  if (client.status === Status.LIVE) loadHistory();
});
ui.connRetry.addEventListener("click", () => client.retryNow());
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
