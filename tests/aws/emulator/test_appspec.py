"""``agentstream emulate APP``: an app spec runs in the shipped template, the same as deploy/'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.aws.emulator.appspec import (
    STACK_NAME,
    absolute_spec,
    app_stack,
    is_template,
    load_target,
    shipped_template,
)
from agentstream.aws.emulator.intrinsics import TemplateError

ROOT = Path(__file__).resolve().parents[3]
APP = """
from agentstream import AgentApp

app = AgentApp(name="tiny")
"""


def test_the_shipped_template_is_deploy_template_byte_for_byte() -> None:
    """The package's template (what emulate APP serves) and deploy/template.yaml are one file."""
    assert shipped_template().read_bytes() == (ROOT / "deploy" / "template.yaml").read_bytes()


@pytest.mark.parametrize(
    ("target", "template"),
    [
        ("deploy/template.yaml", True),
        ("stack.yml", True),
        ("cdk.out/Stack.template.json", True),
        ("calledit", False),
        ("mypkg.mod:app", False),
        ("app.py:app", False),
        ("C:/x/template.yaml", True),
    ],
)
def test_a_template_is_told_from_an_app_spec(target: str, template: bool) -> None:
    """Template suffixes mean a template; names and ``x:app`` specs mean an app."""
    assert is_template(target) is template


def test_an_existing_non_python_file_is_a_template(tmp_path: Path) -> None:
    """A template saved without a usual suffix is still read as a template."""
    (tmp_path / "stack").write_text("{}")
    assert is_template(str(tmp_path / "stack"))
    (tmp_path / "app.py").write_text("")
    assert not is_template(str(tmp_path / "app.py"))


def test_file_specs_become_absolute_module_specs_stay(tmp_path: Path) -> None:
    """Handlers run in their own folder: a file spec is resolved against the caller's."""
    assert absolute_spec("sub/app.py:app", tmp_path) == f"{tmp_path.resolve()}/sub/app.py:app"
    assert absolute_spec("mypkg.mod:app", tmp_path) == "mypkg.mod:app"
    assert absolute_spec("calledit", tmp_path) == "calledit"


def test_an_app_file_runs_in_the_shipped_template_with_its_spec(tmp_path: Path) -> None:
    """The functions' AGENTSTREAM_APP is the (absolute) spec and their code is the project."""
    (tmp_path / "tiny.py").write_text(APP)
    stack = app_stack("tiny.py:app", cwd=tmp_path)
    fn = stack.functions["WebSocketFunction"]
    assert fn.environment["AGENTSTREAM_APP"] == f"{tmp_path.resolve()}/tiny.py:app"
    assert fn.handler == "agentstream.aws.handler.handler" and fn.code_dir == tmp_path.resolve()
    assert stack.name == STACK_NAME and stack.apis and stack.tables


def test_a_builtin_app_name_is_an_app() -> None:
    """``agentstream emulate calledit`` serves CalledIt through the shipped template."""
    stack = load_target("calledit")
    assert stack.functions["WebSocketFunction"].environment["AGENTSTREAM_APP"] == "calledit"


def test_an_unknown_app_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    """Error branch: a spec naming no app fails at once with agentstream serve's message."""
    with pytest.raises(TemplateError, match="unknown app 'nope'"):
        load_target("nope")
    with pytest.raises(TemplateError, match="has no attribute"):
        (tmp_path / "tiny.py").write_text(APP)
        app_stack("tiny.py:other", cwd=tmp_path)


def test_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    """Error branch: a template path that does not exist is refused, naming the path."""
    with pytest.raises(TemplateError, match="is not a file"):
        load_target(str(tmp_path / "nope.yaml"))
