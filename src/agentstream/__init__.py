"""agentstream: stream AI agents to browsers over WebSockets.

The public API is the names in ``__all__``; every other module is internal and may change.

- :class:`AgentApp` and its route decorators ``@app.run(action, Model)`` (a streamed run,
  handed a :class:`RouteContext`) and ``@app.reply(action, Model)`` (one answer, handed a
  :class:`ReplyContext`);
- :class:`AgentRun` and :func:`agent_model`, the helper that runs a Strands agent in a route;
- the canonical events a run handler yields, under their AG-UI names
  (:class:`TextMessageChunk`, :class:`ToolCallChunk`, :class:`StateSnapshot`, ...);
- :func:`create_app` (an ASGI app serving one :class:`AgentApp`) and :func:`mount` (the same
  routes under a prefix of an existing Starlette or FastAPI application).

``import agentstream`` is light: the names that need Strands or Starlette
(``AgentRun``, ``agent_model``, ``TokenLimit``, ``create_app``, ``mount``) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentstream.errors import AgentstreamError, AppError, BadRequest
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    StateDelta,
    StateSnapshot,
    StepFinished,
    StepStarted,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)

if TYPE_CHECKING:
    from agentstream.agents.invoke import AgentRun, TokenLimit, agent_model
    from agentstream.gateway.app import create_app
    from agentstream.gateway.mount import mount

__version__ = "0.1.0"

# Public name -> the internal module that defines it, imported on first use (they pull in
# Strands or Starlette, which a client or a tool importing agentstream does not need).
_LAZY = {
    "AgentRun": "agentstream.agents.invoke",
    "TokenLimit": "agentstream.agents.invoke",
    "agent_model": "agentstream.agents.invoke",
    "create_app": "agentstream.gateway.app",
    "mount": "agentstream.gateway.mount",
}

__all__ = [
    "AgentApp",
    "AgentRun",
    "AgentstreamError",
    "AppError",
    "BadRequest",
    "Custom",
    "Event",
    "ReplyContext",
    "RouteContext",
    "RunError",
    "RunFinished",
    "RunStarted",
    "Settings",
    "StateDelta",
    "StateSnapshot",
    "StepFinished",
    "StepStarted",
    "TextMessageChunk",
    "TokenLimit",
    "ToolCallChunk",
    "ToolCallResult",
    "__version__",
    "agent_model",
    "create_app",
    "mount",
]


def __getattr__(name: str) -> Any:
    """Load a public name that needs a heavy dependency the first time it is read."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentstream' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (the lazy ones included)."""
    return sorted(set(globals()) | set(__all__))
