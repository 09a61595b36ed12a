"""Starting a run's producer outside the invocation that received the message.

API Gateway cuts an integration after 29 s, and a Lambda's threads freeze once it returns, so on
AWS a run is produced by a second, asynchronous invocation of the same function
(``InvocationType=Event``): :class:`LambdaLauncher`. Where there is no Lambda service (the local
emulator, a plain process) :class:`ThreadLauncher` runs the worker in a thread;
:class:`QueueLauncher` only keeps the payloads, for tests that run the worker themselves.
Pick with ``AGENTSTREAM_LAUNCH=lambda|thread`` (default: ``lambda`` inside Lambda, else
``thread``; ``lambda`` where no Lambda service answers falls back to ``thread``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
Worker = Callable[[Payload, Any], Any]


class Launcher(Protocol):
    """Starts the worker for one run payload; returns at once."""

    def launch(self, payload: Payload) -> None:
        """Start producing ``payload``'s run elsewhere."""
        ...


class LambdaLauncher:
    """Invokes a Lambda function (this one by default) asynchronously with the payload."""

    def __init__(self, function_name: str | None = None, client: Any = None) -> None:
        """Invoke ``function_name`` (default: ``AGENTSTREAM_WORKER_FUNCTION``, else this one)."""
        self.function_name = (
            function_name
            or os.environ.get("AGENTSTREAM_WORKER_FUNCTION")
            or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        )
        self._client = client

    def launch(self, payload: Payload) -> None:
        """``lambda:Invoke`` with ``InvocationType=Event`` (queued; the caller does not wait)."""
        if self._client is None:
            import boto3  # type: ignore[import-untyped]

            self._client = boto3.session.Session().client("lambda")
        self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )


class ThreadLauncher:
    """Runs the worker in a daemon thread of this process."""

    def __init__(self, worker: Worker) -> None:
        """Run ``worker(payload, None)`` per launch."""
        self.worker = worker
        self.threads: list[threading.Thread] = []

    def launch(self, payload: Payload) -> None:
        """Start the worker thread."""
        thread = threading.Thread(target=self.worker, args=(payload, None), daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()


class QueueLauncher:
    """Keeps payloads; a test runs the worker entry with each one."""

    def __init__(self) -> None:
        """Start empty."""
        self.payloads: list[Payload] = []

    def launch(self, payload: Payload) -> None:
        """Keep ``payload``."""
        self.payloads.append(payload)


def _lambda_reachable() -> bool:
    """Whether a Lambda service answers here: the real runtime, or a configured endpoint."""
    return any(
        os.environ.get(name)
        for name in ("AWS_LAMBDA_RUNTIME_API", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL")
    )


def default_launcher(worker: Worker) -> Launcher:
    """The launcher ``AGENTSTREAM_LAUNCH`` names (see the module docstring).

    ``lambda`` where no Lambda service answers (an emulator that runs the template's handlers
    but serves no Invoke API) runs the worker in a thread instead, and says so.
    """
    inside_lambda = bool(os.environ.get("AWS_LAMBDA_RUNTIME_API"))
    kind = os.environ.get("AGENTSTREAM_LAUNCH") or ("lambda" if inside_lambda else "thread")
    if kind == "lambda" and not _lambda_reachable():
        logger.warning("launch | no Lambda service here; runs are produced in threads")
        kind = "thread"
    if kind == "lambda":
        return LambdaLauncher()
    if kind == "thread":
        return ThreadLauncher(worker)
    raise ValueError(f"AGENTSTREAM_LAUNCH={kind!r}: use lambda or thread")
