"""Tokens/s a WebSocket client receives ÷ tokens/s the embedded model generates, same prompt.

    .venv/bin/python bench/model_delivery.py [gemma|qwen]

First the model streams alone (in-process, counting text deltas); then the same request runs
through the gateway (recording on) over a real WebSocket and the client counts the text it
receives; three rounds, alternating. Greedy decoding makes both generate the same tokens.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentstream.models.local import LocalModel  # noqa: E402
from agentstream.protocol.events import RunFinished, TextMessageChunk  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper and the sea."
ROUNDS = 3
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]


async def alone(model: LocalModel) -> tuple[int, float]:
    count, first = 0, 0.0
    async for event in model.stream(MESSAGES):
        if "contentBlockDelta" in event and "text" in event["contentBlockDelta"]["delta"]:
            count += 1
            first = first or time.perf_counter()
    return count, time.perf_counter() - first


async def through_gateway(weights: str) -> tuple[int, float, float]:
    from pydantic import BaseModel

    from agentstream.gateway.routes import AgentApp
    from agentstream.gateway.settings import Settings
    from tests.conftest import serve

    class Ask(BaseModel):
        prompt: str

    app = AgentApp(name="delivery", dialect="agentstream")

    @app.run("ask", Ask)
    async def ask(request: Ask, ctx):  # type: ignore[no-untyped-def]
        model = LocalModel(weights, max_tokens=400)
        async for event in model.stream(MESSAGES, cancel_signal=ctx.cancel_signal):
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta:
                yield TextMessageChunk(delta=delta["text"], message_id="m")
        yield RunFinished(result=None)

    # Recording on, as every run is recorded by default (an in-memory SQLite store).
    with serve(app, Settings(model=weights, store="sqlite://:memory:")) as live:
        async with websockets.connect(live.ws) as ws:
            await ws.send(json.dumps({"action": "ask", "prompt": PROMPT}))
            count, first, stamps, last = 0, 0.0, [], 0.0
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "TEXT_MESSAGE_CHUNK":
                    count += 1
                    last = time.perf_counter()
                    first = first or last
                    stamps.append(frame["ts"])  # when the run published it (the model's pace)
                if frame["type"] in ("RUN_FINISHED", "RUN_ERROR"):
                    # Same run, no run-to-run noise: the model's span over the client's span.
                    same_run = (stamps[-1] - stamps[0]) / (last - first)
                    return count, time.perf_counter() - first, same_run


async def main(weights: str) -> None:
    model = LocalModel(weights, max_tokens=400)
    await model.load()
    await alone(model)  # warm the prompt cache so both measured runs start alike
    print(
        "| model | round | tokens alone | tok/s alone | tokens via WS | tok/s via WS | ratio "
        "| same-run ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ratios, same = [], []
    # Alternate the two, so a neighbour's burst of load hits both sides alike.
    for round_ in range(1, ROUNDS + 1):
        n_alone, t_alone = await alone(model)
        n_gw, t_gw, same_run = await through_gateway(weights)
        rate_alone, rate_gw = n_alone / t_alone, n_gw / t_gw
        ratios.append(rate_gw / rate_alone)
        same.append(same_run)
        print(
            f"| {weights} | {round_} | {n_alone} | {rate_alone:.1f} | {n_gw} | {rate_gw:.1f} | "
            f"{ratios[-1]:.3f} | {same_run:.4f} |",
            flush=True,
        )
    print(
        f"\nmedian over {ROUNDS} rounds: ratio **{statistics.median(ratios):.3f}** (two runs, "
        f"so it includes the model's own run-to-run speed), same-run ratio "
        f"**{statistics.median(same):.4f}** (client tokens/s ÷ publish tokens/s in one run)"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "gemma"))
