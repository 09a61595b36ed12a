"""Lambda functions run as warm worker processes, one invocation per process at a time.

Each function gets a pool: an invocation takes an idle worker or starts a new one (a cold
start), like Lambda scaling out one execution environment per concurrent request. A worker that
passes the function's ``Timeout`` is killed (Lambda discards that environment too) and the
invocation fails with ``Task timed out after N seconds``. Processes rather than threads so a
handler's imports, globals, ``os.environ`` and crashes stay its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentstream.aws.emulator.template import Function

logger = logging.getLogger(__name__)
WORKER = Path(__file__).with_name("worker.py")


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation."""

    request_id: str
    ok: bool
    result: Any = None
    error_type: str = ""
    error_message: str = ""
    duration_ms: float = 0.0
    cold: bool = False


@dataclass(eq=False)
class _Worker:
    proc: asyncio.subprocess.Process
    log_task: asyncio.Task[None] | None = None
    invocations: int = 0
    generation: int = 0

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()


def lambda_environment(fn: Function, region: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment a Lambda execution environment would give ``fn``, plus the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AGENTSTREAM_"))}
    env.update(
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ACCESS_KEY_ID="emulator",
        AWS_SECRET_ACCESS_KEY="emulator",  # noqa: S106 - a dummy; nothing reaches AWS
        AWS_SESSION_TOKEN="emulator",  # noqa: S106
        AWS_LAMBDA_FUNCTION_NAME=fn.name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_mb),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{fn.name}",
        AWS_LAMBDA_LOG_STREAM_NAME=f"emulated/[$LATEST]{uuid.uuid4().hex}",
        AWS_EXECUTION_ENV=f"AWS_Lambda_{fn.runtime}",
        LAMBDA_TASK_ROOT=str(fn.code_dir),
        AGENTSTREAM_EMULATOR_HANDLER=fn.handler,
        AGENTSTREAM_EMULATOR_FUNCTION_ARN=fn.arn,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    env.update(fn.environment)  # the template's variables win, as on Lambda
    return env


@dataclass
class FunctionPool:
    """Warm workers for one function."""

    fn: Function
    env: dict[str, str]
    idle: list[_Worker] = field(default_factory=list)
    busy: set[_Worker] = field(default_factory=set)
    generation: int = 0  # bumped by reload(): older workers are retired after their invocation

    async def _spawn(self) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # keep the emulator's folder off sys.path: the handler's folder comes first
            str(WORKER),
            cwd=self.fn.code_dir,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        worker = _Worker(proc, generation=self.generation)
        worker.log_task = asyncio.create_task(self._relay_logs(proc))
        assert proc.stdout is not None  # noqa: S101 - created with PIPE
        await proc.stdout.readline()  # {"ready": true}: the handler module is imported
        return worker

    async def _relay_logs(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None  # noqa: S101 - created with PIPE
        async for raw in proc.stderr:
            logger.info("fn=%s | %s", self.fn.logical_id, raw.decode(errors="replace").rstrip())

    async def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Run the handler on ``event`` in a warm worker, within the function's Timeout."""
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        cold = not self.idle
        worker = self.idle.pop() if self.idle else await self._spawn()
        self.busy.add(worker)
        deadline_ms = int((time.time() + self.fn.timeout) * 1000)
        try:
            answer = await self._exchange(worker, request_id, event, deadline_ms)
        finally:
            self.busy.discard(worker)
        duration = (time.perf_counter() - started) * 1000
        if answer is None:
            return Invocation(
                request_id,
                False,
                None,
                "Sandbox.Timedout",
                f"Task timed out after {self.fn.timeout:.2f} seconds",
                duration,
                cold,
            )
        if "errorType" not in answer and not answer.get("ok"):
            return Invocation(
                request_id,
                False,
                None,
                "Runtime.ExitError",
                "the worker process exited",
                duration,
                cold,
            )
        if worker.generation == self.generation:
            self.idle.append(worker)
        else:
            worker.kill()
        if answer.get("ok"):
            return Invocation(
                request_id, True, answer.get("result"), duration_ms=duration, cold=cold
            )
        return Invocation(
            request_id,
            False,
            None,
            str(answer.get("errorType")),
            str(answer.get("errorMessage")),
            duration,
            cold,
        )

    async def _exchange(
        self, worker: _Worker, request_id: str, event: Mapping[str, Any], deadline_ms: int
    ) -> dict[str, Any] | None:
        """Send one request; None when the worker timed out or died (and is gone)."""
        proc = worker.proc
        assert proc.stdin is not None and proc.stdout is not None  # noqa: S101 - PIPEs
        line = {"event": event, "deadline_ms": deadline_ms, "request_id": request_id}
        try:
            proc.stdin.write((json.dumps(line) + "\n").encode())
            await proc.stdin.drain()
            raw = await asyncio.wait_for(proc.stdout.readline(), self.fn.timeout)
        except (TimeoutError, ConnectionError):
            raw = None
        if not raw:
            worker.kill()
            await proc.wait()
            return None if raw is None else {"ok": False}
        worker.invocations += 1
        answer: dict[str, Any] = json.loads(raw)
        return answer

    async def reload(self) -> None:
        """Retire every worker: the next invocations import the handler afresh."""
        self.generation += 1
        idle, self.idle = self.idle, []
        for worker in idle:
            worker.kill()
            await worker.proc.wait()

    async def close(self) -> None:
        """Stop every worker of this function."""
        for worker in [*self.idle, *self.busy]:
            worker.kill()
            await worker.proc.wait()
        self.idle.clear()
        self.busy.clear()


class Runtime:
    """All the functions of a stack, each with its pool."""

    def __init__(
        self, functions: Mapping[str, Function], region: str, extra_env: Mapping[str, str]
    ) -> None:
        """Set up; see the class docstring."""
        self.pools = {
            lid: FunctionPool(fn, lambda_environment(fn, region, extra_env))
            for lid, fn in functions.items()
        }
        self.closed = False

    async def invoke(self, logical_id: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke the function with that logical id (refused once the runtime is closed)."""
        if self.closed:  # e.g. a $disconnect while the emulator stops: start no new process
            return Invocation(
                str(uuid.uuid4()), False, None, "Emulator.Stopped", "emulator stopped"
            )
        return await self.pools[logical_id].invoke(event)

    async def reload(self, logical_id: str) -> None:
        """Start the function's next invocations from fresh workers (its code changed)."""
        await self.pools[logical_id].reload()

    async def close(self) -> None:
        """Stop every worker; later invocations are refused."""
        self.closed = True
        for pool in self.pools.values():
            await pool.close()
