"""CalledIt: make a prediction, watch an agent turn it into a verifiable record, log the call."""

from __future__ import annotations

from pathlib import Path

from agentstream.apps.calledit.agent import make_call
from agentstream.apps.calledit.schemas import MakeCall
from agentstream.gateway.routes import AgentApp

app = AgentApp(
    name="calledit",
    title="CalledIt",
    dialect="calledit",
    static_dir=Path(__file__).resolve().parent / "static",
)
app.run("makecall", MakeCall)(make_call)
