"""Launchers: self-invoke with InvocationType=Event, a thread, or a queue for tests."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from agentstream.aws.launch import (
    LambdaLauncher,
    QueueLauncher,
    ThreadLauncher,
    default_launcher,
)


class RecordingLambda:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202}


def test_lambda_launcher_invokes_asynchronously_with_the_payload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An Event invocation of this function (AWS_LAMBDA_FUNCTION_NAME) with the JSON payload."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn-self")
    monkeypatch.delenv("AGENTSTREAM_WORKER_FUNCTION", raising=False)
    client = RecordingLambda()
    LambdaLauncher(client=client).launch({"agentstream": "run", "body": "{}"})
    (call,) = client.calls
    assert call["FunctionName"] == "fn-self" and call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == {"agentstream": "run", "body": "{}"}


def test_thread_launcher_runs_the_worker_in_a_thread() -> None:
    """The worker gets (payload, None) in another thread."""
    seen: list[tuple[Any, Any, str]] = []
    done = threading.Event()

    def worker(payload: Any, context: Any) -> None:
        seen.append((payload, context, threading.current_thread().name))
        done.set()

    ThreadLauncher(worker).launch({"x": 1})
    assert done.wait(5)
    assert seen[0][:2] == ({"x": 1}, None)
    assert seen[0][2] != threading.current_thread().name


def test_queue_launcher_only_keeps_payloads() -> None:
    """Tests run the worker themselves from the kept payloads."""
    launcher = QueueLauncher()
    launcher.launch({"a": 1})
    assert launcher.payloads == [{"a": 1}]


@pytest.mark.parametrize(
    ("env", "runtime", "endpoint", "kind"),
    [
        ("", "", "", ThreadLauncher),
        ("", "127.0.0.1:9001", "", LambdaLauncher),
        ("thread", "127.0.0.1:9001", "", ThreadLauncher),
        ("lambda", "", "", ThreadLauncher),
        ("lambda", "", "http://127.0.0.1:9", LambdaLauncher),
    ],
)
def test_default_launcher_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, runtime: str, endpoint: str, kind: type
) -> None:
    """In Lambda: self-invoke; elsewhere a thread; lambda with no Lambda service: a thread."""
    monkeypatch.setenv("AGENTSTREAM_LAUNCH", env)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", runtime)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert isinstance(default_launcher(lambda p, c: None), kind)


def test_an_unknown_launch_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGENTSTREAM_LAUNCH=other raises ValueError naming the choices."""
    monkeypatch.setenv("AGENTSTREAM_LAUNCH", "carrier-pigeon")
    with pytest.raises(ValueError, match="lambda or thread"):
        default_launcher(lambda p, c: None)
