"""The ready-made handler builds the app AGENTSTREAM_APP names, once per container."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.aws import handler as module


def test_the_adapter_serves_the_named_app_and_is_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AGENTSTREAM_APP=titles builds the titles app; a second call reuses the adapter."""
    monkeypatch.setattr(module, "_adapter", None)
    monkeypatch.setenv("AGENTSTREAM_APP", "titles")
    monkeypatch.setenv("AGENTSTREAM_LAUNCH", "thread")
    first = module.adapter()
    assert first.app.name == "titles" and module.adapter() is first


APP = """
from agentstream import AgentApp

app = AgentApp(name="{name}")
"""


@pytest.mark.parametrize("form", ["file", "module"])
def test_the_adapter_takes_module_and_file_specs_like_serve(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AGENTSTREAM_APP=pkg_mod:app or /abs/file.py:app builds that app, as ``serve`` does."""
    name = f"custom_{form}"
    (tmp_path / f"{name}.py").write_text(APP.format(name=name))
    spec = f"{tmp_path / name}.py:app" if form == "file" else f"{name}:app"
    monkeypatch.chdir(tmp_path)  # a module spec imports from the current directory
    monkeypatch.setattr(module, "_adapter", None)
    monkeypatch.setenv("AGENTSTREAM_APP", spec)
    monkeypatch.setenv("AGENTSTREAM_LAUNCH", "thread")
    assert module.adapter().app.name == name
