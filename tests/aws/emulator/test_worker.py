"""The worker's Lambda context and its routing of @connections calls to the emulator."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from agentstream.aws.emulator import worker


def test_remaining_time_counts_down_to_zero() -> None:
    """get_remaining_time_in_millis() is the time left to the deadline, never negative."""
    soon = worker.LambdaContext("r", int(time.time() * 1000) + 2000)
    assert 0 < soon.get_remaining_time_in_millis() <= 2000
    assert worker.LambdaContext("r", 0).get_remaining_time_in_millis() == 0


def test_execute_api_requests_go_to_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """https://{api}.execute-api.{region}.amazonaws.com/{stage}/… → the emulator, path kept."""
    monkeypatch.setenv(worker.ENDPOINT_ENV, "http://127.0.0.1:3001")
    request = SimpleNamespace(
        url="https://abc123.execute-api.us-east-1.amazonaws.com/prod/%40connections/x%3D",
        headers={},
    )
    worker.route_execute_api(request)
    assert request.url == "http://127.0.0.1:3001/prod/%40connections/x%3D"
    assert request.headers["X-Agentstream-Api"] == "abc123"


def test_other_hosts_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom domain or another service is not rewritten."""
    monkeypatch.setenv(worker.ENDPOINT_ENV, "http://127.0.0.1:3001")
    request = SimpleNamespace(url="https://ws.example.com/prod/@connections/x", headers={})
    worker.route_execute_api(request)
    assert request.url == "https://ws.example.com/prod/@connections/x"


def test_serve_answers_each_request_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve() imports the handler once and answers one JSON line per request."""
    (tmp_path / "h.py").write_text("def go(event, context):\n    return {'got': event['n']}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    lines = [json.dumps({"event": {"n": n}, "deadline_ms": 0, "request_id": "r"}) for n in (1, 2)]
    out = io.StringIO()
    worker.serve("h.go", io.StringIO("\n".join(lines) + "\n"), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert answers == [
        {"ready": True},
        {"ok": True, "result": {"got": 1}},
        {"ok": True, "result": {"got": 2}},
    ]
    sys.modules.pop("h", None)
