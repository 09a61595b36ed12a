"""JSON log lines: one object per record, the line's ids lifted into fields."""

from __future__ import annotations

import json
import logging

import pytest

from agentstream.logs import JsonFormatter, configure


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("agentstream.x", logging.INFO, __file__, 1, message, args, exc_info)


def test_ids_before_the_bar_become_fields() -> None:
    """'run=%s seq=%d | text' gives run and seq fields and the text as the message."""
    line = JsonFormatter().format(record("run=%s seq=%d | event sent", "run_1", 7))
    out = json.loads(line)
    assert out["run"] == "run_1" and out["seq"] == "7"
    assert out["message"] == "event sent"
    assert out["level"] == "info" and out["logger"] == "agentstream.x"
    assert "\n" not in line


def test_a_line_without_ids_keeps_its_whole_message() -> None:
    """A message with no 'key=value |' prefix (a bar inside text included) is left whole."""
    out = json.loads(JsonFormatter().format(record("hello | world")))
    assert out["message"] == "hello | world" and "hello" not in out


def test_an_exception_stays_on_one_line() -> None:
    """The traceback goes in an 'exc' field of the same single-line object."""
    line = JsonFormatter().format(record("conn=c1 | handler failed", exc=True))
    out = json.loads(line)
    assert "ValueError: boom" in out["exc"] and out["conn"] == "c1"
    assert "\n" not in line


def test_configure_json_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """configure(fmt='json') makes every root record a JSON line on stderr."""
    configure("info", "json")
    try:
        logging.getLogger("agentstream.test").info("user=%s | connected", "ann")
        err = capsys.readouterr().err.strip().splitlines()
    finally:
        configure("warning", "text")
    assert json.loads(err[-1])["user"] == "ann"


def test_configure_refuses_an_unknown_format() -> None:
    """An unknown format is a ValueError naming the choices (the CLI shows it)."""
    with pytest.raises(ValueError, match="text, json"):
        configure("info", "xml")
