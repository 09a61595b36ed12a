"""CalledIt: make a prediction, watch an agent turn it into a verifiable record, log the call.

Actions: ``makecall`` (streams a record), ``logcall`` (saves a finished run's record as a call),
``verify`` (streams a verification and saves the verdict); ``/api/calls`` lists, fetches and
judges calls over HTTP (see docs/calls.md).
"""

from __future__ import annotations

from pathlib import Path

from agentstream.apps.calledit.agent import make_call
from agentstream.apps.calledit.calls import HTTP_ROUTES, logcall, verify
from agentstream.apps.calledit.schemas import MakeCall
from agentstream.apps.calledit.shapes import LogCall
from agentstream.apps.calledit.verify import VerifyCall
from agentstream.gateway.routes import AgentApp, ChatInput

app = AgentApp(
    name="calledit",
    title="CalledIt",
    dialect="calledit",
    static_dir=Path(__file__).resolve().parent / "static",
    http_routes=list(HTTP_ROUTES),
    chat=ChatInput(action="makecall", text="prompt"),
)
app.run("makecall", MakeCall)(make_call)
app.reply("logcall", LogCall)(logcall)
app.run("verify", VerifyCall)(verify)
