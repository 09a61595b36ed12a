"""The apps that ship with agentstream; ``calledit`` is the default."""

from __future__ import annotations

import importlib
from typing import ClassVar

from agentstream.errors import BadRequest
from agentstream.gateway.routes import AgentApp

APPS = ("calledit", "titles", "strategy", "realestate")
DEFAULT_APP = "calledit"


class UnknownApp(BadRequest, LookupError):
    """No shipped app has that name."""

    code: ClassVar[str] = "unknown_app"
    http_status: ClassVar[int] = 404


def load_app(name: str = DEFAULT_APP) -> AgentApp:
    """The app called ``name``."""
    if name not in APPS:
        raise UnknownApp(f"unknown app {name!r} (one of: {', '.join(APPS)})")
    try:
        module = importlib.import_module(f"agentstream.apps.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"agentstream.apps.{name}":
            raise UnknownApp(f"app {name!r} is not built yet") from None
        raise
    app: AgentApp = module.app
    return app
