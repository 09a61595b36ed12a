"""Apps and routes: registration, ``select`` with its ``$default`` fallback, and the action list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentstream.gateway.routes import BUILTIN_ACTIONS, DEFAULT_ROUTE, AgentApp
from agentstream.protocol.events import Event, RunFinished


class Ask(BaseModel):
    prompt: str = ""


async def stream(request: Ask, ctx: Any) -> AsyncIterator[Event]:
    yield RunFinished()


async def answer(request: Ask, ctx: Any) -> dict[str, Any]:
    return {"ok": True}


def app_with(*actions: str) -> AgentApp:
    """An app with a run route for each of ``actions``."""
    app = AgentApp(name="t")
    for action in actions:
        app.run(action, Ask)(stream)
    return app


def test_run_and_reply_register_routes_that_say_whether_they_stream() -> None:
    """``run`` registers a streaming route, ``reply`` a one-answer route, each with its model."""
    app = AgentApp(name="t")
    assert app.run("ask", Ask)(stream) is stream
    assert app.reply("info", Ask)(answer) is answer
    ask, info = app.routes["ask"], app.routes["info"]
    assert (ask.action, ask.request, ask.handler, ask.streams) == ("ask", Ask, stream, True)
    assert (info.action, info.request, info.handler, info.streams) == ("info", Ask, answer, False)


def test_select_finds_the_route_named_by_the_action() -> None:
    """A known action selects its own route even when a ``$default`` exists."""
    app = app_with("ask", DEFAULT_ROUTE)
    route = app.select("ask")
    assert route is not None and route.action == "ask"


def test_select_falls_back_to_default_for_an_unknown_action() -> None:
    """An unknown action, or any non-string (even an unhashable list), selects ``$default``."""
    app = app_with("ask", DEFAULT_ROUTE)
    for action in ("nope", None, 7, ["ask"], {"ask": 1}):
        route = app.select(action)
        assert route is not None and route.action == DEFAULT_ROUTE


def test_select_without_default_finds_nothing_for_an_unknown_action() -> None:
    """With no ``$default`` an unknown action selects no route."""
    assert app_with("ask").select("nope") is None


@pytest.mark.parametrize("action", sorted(BUILTIN_ACTIONS))
def test_built_in_action_names_are_refused(action: str) -> None:
    """An app cannot register cancel, resume or ping: the gateway owns them."""
    app = AgentApp(name="t")
    with pytest.raises(ValueError, match="built into the gateway"):
        app.run(action, Ask)
    with pytest.raises(ValueError, match="built into the gateway"):
        app.reply(action, Ask)
    assert app.routes == {}


def test_the_built_ins_are_cancel_resume_and_ping() -> None:
    """The gateway's own actions are exactly cancel, resume and ping."""
    assert BUILTIN_ACTIONS == {"cancel", "resume", "ping"}


def test_actions_lists_the_apps_routes_and_the_built_ins_sorted_without_default() -> None:
    """A client may send every route's action and the built-ins; ``$default`` is not one."""
    app = app_with("zeta", "ask", DEFAULT_ROUTE)
    assert app.actions == ["ask", "cancel", "ping", "resume", "zeta"]


def test_an_app_without_routes_still_lists_the_built_ins() -> None:
    """A bare app answers the gateway's built-in actions."""
    assert AgentApp(name="t").actions == sorted(BUILTIN_ACTIONS)


def test_app_defaults() -> None:
    """An app speaks the canonical dialect on ``/ws`` unless it says otherwise."""
    app = AgentApp(name="t")
    assert (app.dialect, app.ws_paths, app.static_dir) == ("agentstream", ("/ws",), None)
