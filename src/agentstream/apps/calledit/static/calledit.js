// CalledIt — the page. Built on /static/agentstream.js; no framework, no build step.
//
// The page shows one call at a time: its live text with tool chips inline, a progress line, and
// the record card that fills in as fields arrive. My Calls lists logged calls once the server has
// a store (GET /api/calls answers); until then the tab and the Log Call button stay hidden.
//
// Modules: page.js (client, elements, shared state), composer.js (prompt and keys),
// callview.js (one call: progress, notices) over transcript.js and card.js, logcall.js (the
// card's actions), mycalls.js (My Calls and the tabs), format.js and dom.js (helpers).

import { Status } from "/static/agentstream.js";
import { setUpComposer } from "./composer.js";
import { setUpCardActions } from "./logcall.js";
import { refreshCallsCount, selectView, setUpMyCalls } from "./mycalls.js";
import { client, state, ui } from "./page.js";

const CONN_TEXT = {
  [Status.CONNECTING]: "Connecting…",
  [Status.LIVE]: "Live",
  [Status.RECONNECTING]: "Reconnecting…",
  [Status.OFFLINE]: "Offline",
  [Status.FALLBACK]: "Fallback mode (SSE)",
};
let connTicker = 0;

function renderConnection() {
  const { status, retryAt } = client;
  ui.conn.dataset.status = status;
  if (ui.connLabel.textContent !== CONN_TEXT[status]) ui.connLabel.textContent = CONN_TEXT[status];
  // The seconds tick outside the live region, so screen readers hear the state, not a clock.
  let detail = "";
  if (status === Status.OFFLINE && retryAt) {
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    detail = seconds > 0 ? `· retry in ${seconds} s` : "· retrying…";
  }
  ui.connDetail.textContent = detail;
  ui.connRetry.hidden = status !== Status.OFFLINE;
  clearInterval(connTicker);
  if (status === Status.OFFLINE && retryAt) connTicker = setInterval(renderConnection, 1000);
}

client.addEventListener("status", () => {
  renderConnection();
  state.current?.connectionChanged(client.status);
});
ui.connRetry.addEventListener("click", () => client.retryNow());
renderConnection();

setUpCardActions();
setUpMyCalls();
setUpComposer();
refreshCallsCount().then(() => {
  if (location.hash === "#calls") selectView("calls");
});
if (location.hash !== "#calls") ui.prompt.focus({ preventScroll: true });
