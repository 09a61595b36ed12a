// @ag-ui/client's HttpAgent, unchanged, runs one CalledIt call against a live agentstream server.
// Usage: node agui_calledit.mjs BASE_URL "prediction"  -> prints one JSON line for the pytest side.
import { HttpAgent } from "@ag-ui/client";

const [base, prediction] = process.argv.slice(2);
const agent = new HttpAgent({ url: `${base}/api/agui`, threadId: "thread-node" });
agent.addMessage({ id: "u1", role: "user", content: prediction });

const types = [];
let finished = null;
const { result, newMessages } = await agent.runAgent(
  { forwardedProps: { timezone: "UTC" } },
  {
    onEvent: ({ event }) => { types.push(event.type); },
    onRunFinishedEvent: ({ event, outcome }) => { finished = { outcome, runId: event.runId }; },
  },
);
const text = newMessages.filter((m) => m.role === "assistant").map((m) => m.content ?? "").join("");
const tools = newMessages.flatMap((m) => m.toolCalls ?? []).map((c) => c.function.name);
console.log(JSON.stringify({ result, types, finished, text, tools, state: agent.state }));
