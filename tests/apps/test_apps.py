"""The shipped apps load by name; an unknown or unbuilt name is a clear 404, not an ImportError."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentstream.apps as apps
from agentstream.apps import APPS, DEFAULT_APP, UnknownApp, load_app
from agentstream.errors import BadRequest
from agentstream.gateway.routes import AgentApp


@pytest.mark.parametrize("name", APPS)
def test_each_shipped_app_loads_under_its_name(name: str) -> None:
    """``load_app(name)`` returns that app's AgentApp."""
    app = load_app(name)
    assert isinstance(app, AgentApp) and app.name == name


def test_calledit_is_the_default() -> None:
    """With no name, the default app is CalledIt."""
    assert DEFAULT_APP == "calledit"
    assert load_app().name == "calledit"


def test_an_unknown_name_is_a_404_listing_the_apps() -> None:
    """A name no app has raises UnknownApp (code unknown_app, HTTP 404) naming every app."""
    with pytest.raises(UnknownApp) as caught:
        load_app("nope")
    error = caught.value
    assert (error.code, error.http_status) == ("unknown_app", 404)
    assert isinstance(error, BadRequest) and isinstance(error, LookupError)
    assert all(name in str(error) for name in APPS)


def test_a_listed_app_without_a_module_is_not_built_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name in APPS whose package does not exist says so, rather than a bare import error."""
    monkeypatch.setattr(apps, "APPS", (*APPS, "ghost_app"))
    with pytest.raises(UnknownApp, match="'ghost_app' is not built yet"):
        load_app("ghost_app")


def test_a_missing_dependency_inside_an_app_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An app that exists but imports something missing re-raises that ModuleNotFoundError."""
    (tmp_path / "broken_app.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.setattr(apps, "__path__", [*apps.__path__, str(tmp_path)])
    monkeypatch.setattr(apps, "APPS", (*APPS, "broken_app"))
    with pytest.raises(ModuleNotFoundError) as caught:
        load_app("broken_app")
    assert caught.value.name == "no_such_dependency_xyz"
