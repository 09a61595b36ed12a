"""`agentstream emulate` is registered on the main CLI and fails clearly on a bad template."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agentstream.cli import cli


def test_emulate_with_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    """A template that does not exist is a usage error naming TEMPLATE, exit code 2."""
    result = CliRunner().invoke(cli, ["emulate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "TEMPLATE" in result.output


def test_emulate_with_an_invalid_template_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not a template is a usage error too (nothing starts)."""
    (tmp_path / "t.yaml").write_text("just: [text")
    result = CliRunner().invoke(cli, ["emulate", str(tmp_path / "t.yaml"), "--model", "scripted"])
    assert result.exit_code == 2 and "not valid YAML" in result.output


def test_emulate_help_lists_the_flags() -> None:
    """--help names the port, model, TLS, watch and secret flags."""
    result = CliRunner().invoke(cli, ["emulate", "--help"])
    for flag in ("--port", "--model", "--tls", "--watch", "--management-secret"):
        assert flag in result.output


def test_emulate_with_an_unknown_app_is_a_clear_error() -> None:
    """An argument that is neither a template nor an app is a usage error naming the app."""
    result = CliRunner().invoke(cli, ["emulate", "nope", "--model", "scripted"])
    assert result.exit_code == 2 and "unknown app 'nope'" in result.output
