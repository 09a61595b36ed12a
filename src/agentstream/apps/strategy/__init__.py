"""Strategy builder: a chat whose answers also build a strategy (flowchart, risk, metrics)."""

from __future__ import annotations

from pathlib import Path

from agentstream.apps.strategy.agent import chat, history
from agentstream.apps.strategy.schemas import StrategyChat, StrategyHistory
from agentstream.gateway.routes import DEFAULT_ROUTE, AgentApp, ChatInput
from agentstream.protocol.dialects import strategy as _dialect  # noqa: F401  (registers it)

app = AgentApp(
    name="strategy",
    title="Strategy Builder",
    dialect="strategy",
    static_dir=Path(__file__).resolve().parent / "static",
    # The seed's client connects to /ws/chat; /ws keeps the shared browser client's default.
    ws_paths=("/ws/chat", "/ws"),
    chat=ChatInput(action="chat", text="message", thread="conversationId", history="history"),
)
app.run("chat", StrategyChat)(chat)
app.reply("history", StrategyHistory)(history)
# The seed's client sends chat messages without an action: they land here.
app.run(DEFAULT_ROUTE, StrategyChat)(chat)
