"""The process one Lambda function runs in: ``python -m agentstream.aws.emulator.worker``.

Like a Lambda execution environment it imports the handler once (the cold start) and then runs
one invocation at a time, warm, until the emulator stops it or kills it at its ``Timeout``. It
imports nothing of the emulator's own beyond this file, so the handler sees its own folder
first on ``sys.path`` and its own environment variables.

Protocol: one JSON request per line on stdin (``{"event", "deadline_ms", "request_id"}``), one
JSON answer per line on the original stdout (``{"ok": true, "result": …}`` or
``{"ok": false, "errorType", "errorMessage", "stackTrace"}``). The handler's own ``print`` goes
to stderr, which the emulator logs, as CloudWatch would.

boto3 clients reach the emulator through endpoint routing: a botocore hook sends requests for
``*.execute-api.*.amazonaws.com`` (the ``@connections`` URL handlers build from
``requestContext.domainName``) to the emulator's plain HTTP port, so handlers that hard-code
``https://`` work unchanged.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

ENDPOINT_ENV = "AGENTSTREAM_EMULATOR_ENDPOINT"


class LambdaContext:
    """The ``context`` argument a Python Lambda handler receives."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        """A context for one invocation that must end by ``deadline_ms`` (epoch ms)."""
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = env.get("AGENTSTREAM_EMULATOR_FUNCTION_ARN", "")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the emulator stops this invocation."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


def route_execute_api(request: Any, **_: Any) -> None:
    """Botocore ``before-send`` hook: ``https://{api}.execute-api…/{stage}`` → the emulator."""
    target = os.environ.get(ENDPOINT_ENV)
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    if target and ".execute-api." in host and host.endswith(".amazonaws.com"):
        dest = urlsplit(target)
        request.headers["X-Agentstream-Api"] = host.split(".", 1)[0]
        request.url = urlunsplit((dest.scheme, dest.netloc, parts.path, parts.query, ""))


def _install_endpoint_routing() -> None:
    try:
        from botocore import handlers  # type: ignore[import-untyped]
    except ImportError:  # a handler without boto3 needs no routing
        return
    handlers.BUILTIN_HANDLERS.append(("before-send.apigatewaymanagementapi", route_execute_api))


def _load(handler: str) -> Any:
    module_name, _, attr = handler.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, attr)


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def _invoke(fn: Any, request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request["request_id"], int(request["deadline_ms"]))
    try:
        result = fn(request["event"], context)
    except Exception as exc:  # the handler's error is the invocation's result
        traceback.print_exc()
        return _error(exc)
    try:
        json.dumps(result)  # Lambda must serialise the result; fail here like it would
    except (TypeError, ValueError) as exc:
        return {**_error(exc), "errorType": "Runtime.MarshalError"}
    return {"ok": True, "result": result}


def serve(handler: str, stdin: TextIO, channel: TextIO) -> None:
    """Import ``handler`` once, then answer invocations until stdin closes."""
    sys.path.insert(0, os.getcwd())
    _install_endpoint_routing()
    try:
        fn: Any = _load(handler)
        init_error = None
    except Exception as exc:  # Lambda reports a broken import on every invocation
        traceback.print_exc()
        fn, init_error = None, _error(exc)
        init_error["errorType"] = "Runtime.ImportModuleError"
    channel.write(json.dumps({"ready": True}) + "\n")
    channel.flush()
    for line in stdin:
        request = json.loads(line)
        answer = init_error if init_error else _invoke(fn, request)
        sys.stderr.flush()
        channel.write(json.dumps(answer, default=str) + "\n")
        channel.flush()


def main() -> None:
    """Entry point: keep a private copy of stdout for answers, send prints to stderr."""
    # Ctrl-C in the emulator's terminal reaches this process group too: the emulator stops
    # workers itself, and a worker whose stdin closes exits on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", closefd=False)
    serve(os.environ["AGENTSTREAM_EMULATOR_HANDLER"], sys.stdin, channel)


if __name__ == "__main__":
    main()
