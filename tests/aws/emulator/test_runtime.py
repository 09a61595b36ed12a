"""Functions run in warm worker processes with Lambda's environment, context and Timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentstream.aws.emulator.runtime import FunctionPool, Runtime, lambda_environment
from agentstream.aws.emulator.template import Function

HANDLER = """
import os, time
import json
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise KeyError("missing")
    if event.get("exit"):
        os._exit(3)
    if event.get("unserialisable"):
        return {"when": object()}
    return {"pid": os.getpid(), "count": COUNT, "name": context.function_name,
            "remaining": context.get_remaining_time_in_millis(), "id": context.aws_request_id,
            "env": os.environ.get("ONLY_MINE"), "region": os.environ["AWS_REGION"],
            "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn}
"""


def _function(folder: Path, source: str = HANDLER, timeout: float = 5.0) -> Function:
    folder.mkdir(exist_ok=True)
    (folder / "app.py").write_text(source)
    return Function(
        "Fn",
        "stack-Fn",
        "arn:aws:lambda:us-east-1:1:function:stack-Fn",
        folder,
        "app.handler",
        timeout=timeout,
        memory_mb=256,
        environment={"ONLY_MINE": "yes"},
    )


async def test_worker_stays_warm_between_invocations(tmp_path: Path) -> None:
    """Two invocations in a row use one process; module globals persist like a warm Lambda."""
    runtime = Runtime({"Fn": _function(tmp_path / "f")}, "eu-west-1", {})
    try:
        first = await runtime.invoke("Fn", {})
        second = await runtime.invoke("Fn", {})
    finally:
        await runtime.close()
    assert first.cold and not second.cold
    assert first.result["pid"] == second.result["pid"]
    assert (first.result["count"], second.result["count"]) == (1, 2)
    assert second.result["name"] == "stack-Fn" and second.result["env"] == "yes"
    assert second.result["region"] == "eu-west-1" and second.result["memory"] == "256"
    assert 0 < second.result["remaining"] <= 5000
    assert second.result["id"] == second.request_id


async def test_concurrent_invocations_get_separate_workers(tmp_path: Path) -> None:
    """Like Lambda scaling out, overlapping invocations run in two processes."""
    runtime = Runtime({"Fn": _function(tmp_path / "f")}, "us-east-1", {})
    try:
        a, b = await asyncio.gather(
            runtime.invoke("Fn", {"sleep": 0.3}), runtime.invoke("Fn", {"sleep": 0.3})
        )
    finally:
        await runtime.close()
    assert a.result["pid"] != b.result["pid"]


async def test_timeout_kills_the_worker_and_reports_it(tmp_path: Path) -> None:
    """Past Timeout the invocation fails and the next one starts a fresh process."""
    runtime = Runtime({"Fn": _function(tmp_path / "f", timeout=0.5)}, "us-east-1", {})
    try:
        slow = await runtime.invoke("Fn", {"sleep": 10})
        after = await runtime.invoke("Fn", {})
    finally:
        await runtime.close()
    assert not slow.ok and slow.error_message == "Task timed out after 0.50 seconds"
    assert after.ok and after.cold and after.result["count"] == 1


async def test_handler_error_and_import_error_are_reported(tmp_path: Path) -> None:
    """A raising handler gives its type and message; a broken import gives ImportModuleError."""
    runtime = Runtime(
        {
            "Fn": _function(tmp_path / "f"),
            "Bad": _function(tmp_path / "b", "import nothing_here\n"),
        },
        "us-east-1",
        {},
    )
    try:
        failed = await runtime.invoke("Fn", {"fail": True})
        broken = await runtime.invoke("Bad", {})
    finally:
        await runtime.close()
    assert (failed.error_type, failed.error_message) == ("KeyError", "'missing'")
    assert broken.error_type == "Runtime.ImportModuleError"


async def test_reload_starts_new_invocations_in_a_fresh_process(tmp_path: Path) -> None:
    """After reload() the changed code is imported anew."""
    fn = _function(tmp_path / "f")
    runtime = Runtime({"Fn": fn}, "us-east-1", {})
    try:
        before = await runtime.invoke("Fn", {})
        (fn.code_dir / "app.py").write_text("def handler(e, c):\n    return 'v2'\n")
        await runtime.reload("Fn")
        after = await runtime.invoke("Fn", {})
    finally:
        await runtime.close()
    assert before.result["count"] == 1 and after.result == "v2"


def test_template_variables_override_the_emulator_environment(tmp_path: Path) -> None:
    """The function's own variables win over the emulator's; AWS_* from the shell are dropped."""
    fn = _function(tmp_path / "f")
    env = lambda_environment(
        fn, "us-east-1", {"ONLY_MINE": "emulator", "AWS_ENDPOINT_URL_DYNAMODB": "http://x"}
    )
    assert env["ONLY_MINE"] == "yes" and env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://x"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "stack-Fn"


@pytest.mark.parametrize("rounds", [5])
async def test_cold_and_warm_cost_are_measurable(tmp_path: Path, rounds: int) -> None:
    """Cold starts happen once per worker; the figures are printed for the report, not asserted."""
    pool = FunctionPool(
        _function(tmp_path / "f"), lambda_environment(_function(tmp_path / "f"), "us-east-1", {})
    )
    try:
        started = time.perf_counter()
        invocations = [await pool.invoke({}) for _ in range(rounds)]
        total = time.perf_counter() - started
    finally:
        await pool.close()
    assert [i.cold for i in invocations] == [True] + [False] * (rounds - 1)
    cold, warm = invocations[0].duration_ms, invocations[-1].duration_ms
    print(f"cold {cold:.1f} ms, warm {warm:.1f} ms, total {total:.2f}s")


async def test_crash_and_unserialisable_result_are_errors(tmp_path: Path) -> None:
    """A worker that exits mid-invocation and a result JSON cannot hold both fail cleanly."""
    runtime = Runtime({"Fn": _function(tmp_path / "f")}, "us-east-1", {})
    try:
        crashed = await runtime.invoke("Fn", {"exit": True})
        marshal = await runtime.invoke("Fn", {"unserialisable": True})
        after = await runtime.invoke("Fn", {})
    finally:
        await runtime.close()
    assert crashed.error_type == "Runtime.ExitError"
    assert marshal.error_type == "Runtime.MarshalError"
    assert after.ok


async def test_closed_runtime_starts_no_new_worker(tmp_path: Path) -> None:
    """After close(), an invocation fails at once instead of starting a process."""
    runtime = Runtime({"Fn": _function(tmp_path / "f")}, "us-east-1", {})
    await runtime.close()
    late = await runtime.invoke("Fn", {})
    assert not late.ok and late.error_type == "Emulator.Stopped"
    assert runtime.pools["Fn"].idle == [] and not runtime.pools["Fn"].busy
