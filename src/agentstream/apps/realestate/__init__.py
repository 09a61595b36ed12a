"""Real-estate orchestrator: questions routed to specialist agents that answer from documents."""

from __future__ import annotations

from pathlib import Path

from agentstream.apps.realestate.http_invoke import ROUTES
from agentstream.apps.realestate.orchestrator import invoke, unknown_action
from agentstream.apps.realestate.schemas import AnyMessage, Invoke
from agentstream.gateway.routes import DEFAULT_ROUTE, AgentApp, ChatInput
from agentstream.protocol.dialects import realestate as _dialect  # noqa: F401  (registers it)

app = AgentApp(
    name="realestate",
    title="Real-Estate Agent",
    dialect="realestate",
    static_dir=Path(__file__).resolve().parent / "static",
    http_routes=list(ROUTES),
    chat=ChatInput(action="invoke", text="question"),
)
app.run("invoke", Invoke)(invoke)
app.reply(DEFAULT_ROUTE, AnyMessage)(unknown_action)
