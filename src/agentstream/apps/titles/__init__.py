"""Title generator chat: titles stream in with progress; each project's thread is kept."""

from __future__ import annotations

from pathlib import Path

from agentstream.apps.titles.agent import history, stream_titles
from agentstream.apps.titles.schemas import History, StreamTitles
from agentstream.gateway.routes import AgentApp, ChatInput
from agentstream.protocol.dialects import titles as _dialect  # noqa: F401  (registers it)

app = AgentApp(
    name="titles",
    title="Title Generator",
    dialect="titles",
    static_dir=Path(__file__).resolve().parent / "static",
    chat=ChatInput(action="stream", text="userInput", thread="projectId", history="chat_history"),
)
app.run("stream", StreamTitles)(stream_titles)
app.reply("history", History)(history)
