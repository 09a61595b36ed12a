"""Time to deliver a streamed answer on the AWS path: our Lambda adapter vs. one post per token.

    .venv/bin/python bench/aws_delivery.py [--tokens 1000] [--rate 200] [--latency-ms 20]
                                           [--window-ms 100] [--quick]

A model producing ``--rate`` tokens/s (paced on absolute times, like a scripted model) answers
with ``--tokens`` tokens. The management API is a real HTTP stub adding ``--latency-ms`` to every
``POST @connections/{id}`` (what an in-region post costs), reached with boto3's
``apigatewaymanagementapi`` client; DynamoDB is a moto server subprocess.

- **ours**: the whole adapter: the worker invocation parses the message, the dispatcher starts
  the run, the fanout reads the live-run item each window and posts merged text;
- **per token**: what the seeds do: a loop that reads the model's stream and posts each token
  with ``post_to_connection`` before reading the next (the model's stream buffers meanwhile).

Both are timed from the start of the invocation to the arrival of the last frame at the stub,
and compared with the model's own time (start to last token). Goal: ours ≤ 1.1×.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402

from agentstream import AgentApp  # noqa: E402
from agentstream.aws.lambda_adapter import LambdaAdapter  # noqa: E402
from agentstream.aws.launch import QueueLauncher  # noqa: E402
from agentstream.aws.sender import Sender, management_client  # noqa: E402
from agentstream.gateway.settings import Settings  # noqa: E402
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk  # noqa: E402
from tests.aws.lambda_world import connect_event, message_event  # noqa: E402
from tests.aws.mgmt_stub import ManagementStub, free_port  # noqa: E402

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AGENTSTREAM_LAUNCH": "thread",
}


class Answer(BaseModel):
    """How many tokens, how fast."""

    tokens: int = 1000
    rate: float = 200.0


def paced(tokens: int, rate: float, marks: dict[str, float]) -> list[float]:
    """When each token is due, from now."""
    marks["start"] = time.perf_counter()
    return [marks["start"] + (i + 1) / rate for i in range(tokens)]


def bench_app(marks: dict[str, float]) -> AgentApp:
    """An app whose ``answer`` route streams like a model at a fixed rate."""
    app = AgentApp(name="bench", dialect="calledit")

    @app.run("answer", Answer)
    async def answer(request: Answer, ctx: object) -> AsyncIterator[Event]:
        for due in paced(request.tokens, request.rate, marks):
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            yield TextMessageChunk(delta="tok ")
        marks["model_done"] = time.perf_counter()
        yield RunFinished(result={"tokens": request.tokens})

    return app


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def ours(args: argparse.Namespace, stub: ManagementStub, dynamodb: str) -> tuple[float, float, int]:
    """(delivery s, model s, posts) through the adapter's worker."""
    marks: dict[str, float] = {}
    prefix = f"b{uuid.uuid4().hex[:8]}_"
    store = f"dynamodb://?endpoint={dynamodb}&prefix={prefix}&region=us-east-1&create=1"
    launcher = QueueLauncher()
    adapter = LambdaAdapter(
        bench_app(marks),
        Settings(model="scripted", store=store),
        launcher=launcher,
        window_s=args.window_ms / 1000,
    )
    adapter(connect_event("ours", "bench"))
    body = {"action": "answer", "tokens": args.tokens, "rate": args.rate}
    adapter(message_event("ours", body, "bench"))
    begun = time.perf_counter()
    adapter(launcher.payloads.pop(), None)
    delivered = stub.times["ours"][-1]
    return delivered - begun, marks["model_done"] - marks["start"], len(stub.frames["ours"])


def per_token(args: argparse.Namespace, stub: ManagementStub) -> tuple[float, float, int]:
    """(delivery s, model s, posts) posting every token as it is read, as the seeds do."""
    sender = Sender(management_client(stub.endpoint, region="us-east-1"))
    stream: queue.Queue[str | None] = queue.Queue()
    marks: dict[str, float] = {}

    def model() -> None:
        for due in paced(args.tokens, args.rate, marks):
            time.sleep(max(0.0, due - time.perf_counter()))
            stream.put('{"type":"text","content":"tok "}')
        marks["model_done"] = time.perf_counter()
        stream.put(None)

    begun = time.perf_counter()
    threading.Thread(target=model, daemon=True).start()
    while (frame := stream.get()) is not None:
        sender.post("seed", frame)
    sender.post("seed", '{"type":"complete"}')
    delivered = stub.times["seed"][-1]
    return delivered - begun, marks["model_done"] - marks["start"], len(stub.frames["seed"])


def main() -> int:
    """Run both, print the table; exit 1 when ours misses the 1.1x goal (not with --quick)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--window-ms", type=float, default=100.0)
    parser.add_argument("--quick", action="store_true", help="200 tokens, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.tokens = 200
    os.environ.update(ENV)
    proc, dynamodb = start_moto()
    try:
        with ManagementStub(latency_s=args.latency_ms / 1000) as stub:
            os.environ["AGENTSTREAM_MANAGEMENT_ENDPOINT"] = stub.endpoint
            rows = [("agentstream adapter", *ours(args, stub, dynamodb))]
            rows.append(("one post per token (seeds)", *per_token(args, stub)))
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"{args.tokens} tokens at {args.rate:.0f} tokens/s, {args.latency_ms:.0f} ms per POST, "
        f"window {args.window_ms:.0f} ms\n"
    )
    print("| sender | model s | delivered s | × model | POSTs |")
    print("|---|---|---|---|---|")
    for name, delivered, model_s, posts in rows:
        print(f"| {name} | {model_s:.2f} | {delivered:.2f} | {delivered / model_s:.2f} | {posts} |")
    ratio = rows[0][1] / rows[0][2]
    # The goal is for a 1,000-token answer; a quick run's fixed start-up cost weighs more.
    return 0 if args.quick or ratio <= 1.1 else 1


if __name__ == "__main__":
    sys.exit(main())
