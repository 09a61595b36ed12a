"""deploy/template.yaml under ``agentstream emulate`` (issue 11's end-to-end check), offline.

Real WebSocket clients against the emulated API Gateway, the template's functions running the
Lambda adapter unchanged, DynamoDB on moto and Bedrock served by the scripted model (its forced
structured-output call answered with a schema-valid record) or the embedded ``gemma`` model.
Skipped where the emulator (issue 9) is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets

emulator_server = pytest.importorskip("agentstream.aws.emulator.server")
emulator_template = pytest.importorskip("agentstream.aws.emulator.template")
emulator_command = pytest.importorskip("agentstream.aws.emulator.command")

from agentstream.apps.calledit.schemas import PredictionRecord  # noqa: E402
from tests.aws.mgmt_stub import free_port  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
SECRET = "e2e-secret-" + "x" * 24
Frame = dict[str, Any]


def token(user: str) -> str:
    return jwt.encode({"sub": user, "exp": time.time() + 600}, SECRET, "HS256")


@contextlib.asynccontextmanager
async def emulate(model: str) -> AsyncIterator[Any]:
    """The template served with the JWT authorizer on, and Bedrock on ``model``."""
    stack = emulator_template.load_stack(TEMPLATE, parameters={"JwtSecret": SECRET})
    opts = emulator_command.options(
        host="127.0.0.1",
        port=free_port(),
        model=model,
        dynamodb_endpoint=None,
        management_secret=None,
        verbose=False,
        idle_timeout=600,
        integration_timeout=29,
    )
    emulator = emulator_server.Emulator(stack, opts)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def emulated() -> AsyncIterator[Any]:
    """The template on the scripted model, 50 ms per delta (time to drop and cancel mid-run)."""
    async with emulate("scripted:0.05") as emulator:
        yield emulator


def url(emulator: Any, user: str) -> str:
    return f"ws://127.0.0.1:{emulator.port}/prod?token={token(user)}"


async def until(ws: Any, done: Callable[[Frame], bool], timeout: float = 60) -> list[Frame]:
    frames: list[Frame] = []
    while not frames or not done(frames[-1]):
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    return frames


def ended(frame: Frame) -> bool:
    return frame.get("type") in ("complete", "error") and "seq" in frame


def text(frames: list[Frame]) -> str:
    return "".join(f["content"] for f in frames if f["type"] == "text")


def connection_ids(emulator: Any) -> set[str]:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=emulator.dynamodb.endpoint,
        region_name="us-east-1",
        aws_access_key_id="e2e",
        aws_secret_access_key="e2e",
    )
    table = f"{emulator.stack.name}-connections"
    return {item["conn_id"]["S"] for item in client.scan(TableName=table)["Items"]}


CALL = {"action": "makecall", "prompt": "It will rain in Paris tomorrow", "timezone": "UTC"}


async def test_a_call_streams_in_the_calledit_dialect_and_the_row_follows_the_socket(
    emulated: Any,
) -> None:
    """A call streams CalledIt frames; the connection row exists while connected, not after."""
    async with websockets.connect(url(emulated, "alice")) as ws:
        assert len(connection_ids(emulated)) == 1
        await ws.send(json.dumps(CALL))
        frames = await until(ws, ended)
    assert frames[0]["type"] == "status" and frames[0]["status"] == "started"
    assert text(frames) and all("runId" in f and "seq" in f for f in frames)
    deadline = time.monotonic() + 20
    while connection_ids(emulated) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert connection_ids(emulated) == set()


def record_of(frames: list[Frame]) -> PredictionRecord:
    """The run's record: its last frame is ``complete`` and its content a valid record."""
    assert frames[-1]["type"] == "complete", frames[-1]
    return PredictionRecord.model_validate(frames[-1]["content"])


async def test_a_call_ends_with_a_valid_record_in_the_calledit_dialect(emulated: Any) -> None:
    """Scripted Bedrock answers the forced record tool: the run completes with a valid record."""
    async with websockets.connect(url(emulated, "dave")) as ws:
        await ws.send(json.dumps(CALL))
        frames = await until(ws, ended)
    record = record_of(frames)
    assert record.initial_status == "pending"
    assert "state_delta" in {f["type"] for f in frames}  # the record filled in as it streamed
    forced = [r["body"]["toolConfig"].get("toolChoice") for r in emulated.bedrock.requests]
    assert {"tool": {"name": "PredictionRecord"}} in forced


@pytest.mark.slow
async def test_a_call_on_gemma_ends_with_a_valid_record() -> None:
    """Bedrock served by the embedded gemma model: the same call completes with a valid record."""
    async with emulate("gemma") as emulator, websockets.connect(url(emulator, "erin")) as ws:
        await ws.send(json.dumps(CALL))
        frames = await until(ws, ended, timeout=300)
    assert text(frames)
    record_of(frames)


async def test_a_dropped_client_resumes_on_a_new_connection_with_no_gap(emulated: Any) -> None:
    """Drop mid-run, resume on a new connection: the same text as an uninterrupted run."""
    async with websockets.connect(url(emulated, "bob")) as ws:
        await ws.send(json.dumps(CALL))
        whole = await until(ws, ended)
    first = await websockets.connect(url(emulated, "bob"))
    await first.send(json.dumps(CALL))
    seen = await until(first, lambda f: f["type"] == "text")
    await first.close()
    run_id, last = seen[0]["runId"], seen[-1]["seq"]
    async with websockets.connect(url(emulated, "bob")) as second:
        await second.send(json.dumps({"action": "resume", "runId": run_id, "lastSeq": last}))
        rest = await until(second, ended)
    assert rest[0]["type"] == "resume" and rest[0]["state"] == "running"
    seqs = [f["seq"] for f in rest[1:]]
    assert seqs == sorted(set(seqs)) and seqs[0] > last
    assert text(seen) + text(rest) == text(whole)


async def test_cancel_from_a_second_connection_of_the_same_user_stops_the_run(
    emulated: Any,
) -> None:
    """The owner's second connection cancels; the first sees the run end cancelled."""
    async with websockets.connect(url(emulated, "carol")) as ws:
        await ws.send(json.dumps(CALL))
        started = await until(ws, lambda f: f["type"] == "status")
        async with websockets.connect(url(emulated, "carol")) as other:
            await other.send(json.dumps({"action": "cancel", "runId": started[0]["runId"]}))
            answer = await until(other, lambda f: f["type"] == "cancel")
        frames = await until(ws, ended)
    assert answer[-1]["state"] == "cancelling"
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "cancelled"
