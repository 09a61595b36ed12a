"""The shipped apps load by name; an unknown or unbuilt name is a clear 404, not an ImportError."""

from __future__ import annotations

import sys
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


APP_FILE = """
from pydantic import BaseModel
from agentstream import AgentApp, TextMessageChunk

class Hi(BaseModel):
    name: str

app = AgentApp(name="hello")
not_an_app = 42

@app.run("hi", Hi)
async def hi(request, ctx):
    yield TextMessageChunk(delta=f"hi {request.name}")
"""


def test_a_file_spec_loads_the_named_app(tmp_path: Path) -> None:
    """``path/to/file.py:app`` imports that file and returns its AgentApp."""
    (tmp_path / "hello_app.py").write_text(APP_FILE)
    app = load_app(f"{tmp_path / 'hello_app.py'}:app")
    assert app.name == "hello" and "hi" in app.routes


def test_a_module_spec_loads_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``package.module:app`` is imported with the current directory on the path, like uvicorn."""
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "service.py").write_text(APP_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", [p for p in sys.path if p != str(tmp_path)])
    assert load_app("mypkg.service:app").name == "hello"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("{dir}/hello_app.py:missing", "has no attribute 'missing'"),
        ("{dir}/hello_app.py:not_an_app", "is a int, not an agentstream.AgentApp"),
        ("{dir}/nowhere.py:app", "no such file"),
        ("no_such_module_xyz:app", "no module named 'no_such_module_xyz'"),
        ("no_such_module_xyz.sub:app", "no module named 'no_such_module_xyz'"),
        (":app", "bad app spec"),
        ("{dir}/hello_app.py:", "bad app spec"),
        ("{dir}/hello_app.py:1x", "bad app spec"),
    ],
)
def test_a_bad_spec_is_an_unknown_app_naming_the_problem(
    tmp_path: Path, spec: str, says: str
) -> None:
    """Each way a spec can be wrong is an UnknownApp (404) whose message says which."""
    (tmp_path / "hello_app.py").write_text(APP_FILE)
    with pytest.raises(UnknownApp) as caught:
        load_app(spec.format(dir=tmp_path))
    assert says in str(caught.value)


def test_an_error_inside_the_file_is_not_hidden(tmp_path: Path) -> None:
    """A file that fails while importing raises its own error, and leaves no half module behind."""
    (tmp_path / "bad_app.py").write_text("import no_such_dependency_xyz\n")
    with pytest.raises(ModuleNotFoundError):
        load_app(f"{tmp_path / 'bad_app.py'}:app")
    assert "_agentstream_app_bad_app" not in sys.modules


def test_a_file_with_postponed_annotations_loads(tmp_path: Path) -> None:
    """A file using ``from __future__ import annotations`` and a dataclass imports (it is in
    sys.modules while it runs, as dataclasses and pydantic need)."""
    code = "from __future__ import annotations\nfrom dataclasses import dataclass\n"
    code += "@dataclass\nclass Note:\n    text: str\n" + APP_FILE
    (tmp_path / "future_app.py").write_text(code)
    assert load_app(f"{tmp_path / 'future_app.py'}:app").name == "hello"
