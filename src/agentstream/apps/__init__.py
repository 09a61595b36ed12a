"""The apps that ship with agentstream (``calledit`` is the default), and loading yours by spec.

:func:`load_app` takes what ``agentstream serve`` takes, like uvicorn: a built-in app's short
name, ``package.module:app`` (imported from the current directory or the path) or
``path/to/file.py:app``, where ``app`` names an :class:`~agentstream.AgentApp` in that module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import ClassVar

from agentstream.errors import BadRequest
from agentstream.gateway.routes import AgentApp

APPS = ("calledit", "titles", "strategy", "realestate")
DEFAULT_APP = "calledit"

__all__ = ["APPS", "DEFAULT_APP", "UnknownApp", "load_app"]


class UnknownApp(BadRequest, LookupError):
    """No app answers to that name or spec."""

    code: ClassVar[str] = "unknown_app"
    http_status: ClassVar[int] = 404


def load_app(spec: str = DEFAULT_APP) -> AgentApp:
    """The app ``spec`` names: a built-in name, ``module:attr`` or ``path/to/file.py:attr``.

    Raises:
        UnknownApp: No such built-in app, module, file or attribute, or the attribute is not an
            :class:`AgentApp`. An error raised *inside* the module being imported propagates.
    """
    if ":" not in spec:
        return _builtin(spec)
    target, _, attr = spec.rpartition(":")
    if not target or not attr.isidentifier():
        raise UnknownApp(f"bad app spec {spec!r}: use module:app or path/to/file.py:app")
    module = _import_file(Path(target)) if target.endswith(".py") else _import_module(target)
    app = getattr(module, attr, None)
    if app is None:
        raise UnknownApp(f"{target} has no attribute {attr!r} (spec {spec!r})")
    if not isinstance(app, AgentApp):
        raise UnknownApp(f"{spec} is a {type(app).__name__}, not an agentstream.AgentApp")
    return app


def _builtin(name: str) -> AgentApp:
    if name not in APPS:
        raise UnknownApp(
            f"unknown app {name!r} (one of: {', '.join(APPS)}; "
            "or module:app or path/to/file.py:app for your own)"
        )
    try:
        module = importlib.import_module(f"agentstream.apps.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"agentstream.apps.{name}":
            raise UnknownApp(f"app {name!r} is not built yet") from None
        raise
    app: AgentApp = module.app
    return app


def _import_module(name: str) -> ModuleType:
    # Like uvicorn: the current directory comes first, whatever script started us.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise UnknownApp(f"no module named {exc.name!r} (from app spec {name!r})") from None
        raise  # the module exists but imports something missing: show the user's traceback


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise UnknownApp(f"no such file: {path}")
    # The file's folder goes on the path so it can import its neighbours.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    name = f"_agentstream_app_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UnknownApp(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: pydantic and dataclasses look it up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
