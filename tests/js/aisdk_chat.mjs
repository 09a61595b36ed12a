// The AI SDK's own chat transport and UI-message-stream reader, unchanged, against /api/chat.
// Usage: node aisdk_chat.mjs BASE_URL MODE PROMPT HEADERS_JSON
//   MODE: call (read to the end) | cancel (POST /api/runs/{id}/cancel after the first text)
//         | abort (abort the fetch after the first text, as useChat's stop() does)
// Prints one JSON line: the response header, the chunk types, reader errors, the final message.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [base, mode, prompt, headersJson] = process.argv.slice(2);
const headers = JSON.parse(headersJson || "{}");
let header = null;
const transport = new DefaultChatTransport({
  api: `${base}/api/chat`,
  headers,
  body: { timezone: "UTC" },
  fetch: async (url, init) => {
    const response = await fetch(url, init);
    header = response.headers.get("x-vercel-ai-ui-message-stream");
    return response;
  },
});
const controller = new AbortController();
const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: prompt }] }];

let chunks;
try {
  chunks = await transport.sendMessages({
    chatId: "chat-1", messages, abortSignal: controller.signal, trigger: "submit-message",
  });
} catch (error) {
  console.log(JSON.stringify({ header, requestError: error.message }));
  process.exit(0);
}

const types = [];
let runId = null;
let stopped = false;
const tapped = chunks.pipeThrough(new TransformStream({
  async transform(chunk, out) {
    types.push(chunk.type);
    if (chunk.type === "start") runId = chunk.messageMetadata?.runId ?? null;
    out.enqueue(chunk);
    if (chunk.type !== "text-delta" || stopped) return;
    if (mode === "cancel") {
      stopped = true;
      await fetch(`${base}/api/runs/${runId}/cancel`, {
        method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "{}",
      });
    } else if (mode === "abort") {
      stopped = true;
      controller.abort();
    }
  },
}));

const errors = [];
let message = null;
try {
  for await (const snapshot of readUIMessageStream({
    stream: tapped, onError: (error) => errors.push(String(error?.message ?? error)),
  })) {
    message = snapshot;
  }
} catch (error) {
  errors.push(`threw ${error?.name}: ${error?.message}`);
}
console.log(JSON.stringify({ header, runId, types, errors, message }));
