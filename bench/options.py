"""Server options that move the floor, measured rather than guessed (issue 12, item 4).

    .venv/bin/python bench/options.py [--scale F]

Runs ``streams.py`` once per variant — uvicorn's WebSocket implementation (``websockets-sansio``,
``wsproto``, legacy ``websockets``) and per-message-deflate offered by the client (as every
browser does) with the server accepting it — and prints events/s and server CPU µs per event
for the gateway and the bare endpoint under each. Both servers get the same option, so compare
a column down the variants. JSON encoders are compared in-process: the canonical frame of a text
delta encoded by orjson and by msgspec.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent

VARIANTS = {
    "websockets-sansio (default)": {"AGENTSTREAM_BENCH_WS": "websockets-sansio"},
    "wsproto": {"AGENTSTREAM_BENCH_WS": "wsproto"},
    "websockets (legacy)": {"AGENTSTREAM_BENCH_WS": "websockets"},
    "sansio + permessage-deflate": {
        "AGENTSTREAM_BENCH_WS": "websockets-sansio",
        "AGENTSTREAM_BENCH_DEFLATE": "1",
        "AGENTSTREAM_BENCH_OFFER_DEFLATE": "1",
    },
}


def run_variant(env: dict[str, str], scale: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, str(HERE / "streams.py"), "--scale", str(scale)]
        command += ["--reps", "2", "--idle", "0", "--burst", "200", "--json", out.name]
        subprocess.run(command, env={**os.environ, **env}, check=True, capture_output=True)
        return orjson.loads(Path(out.name).read_bytes())


def servers(scale: float) -> None:
    print(
        "| variant | case | gateway events/s | gateway µs/event | bare events/s | bare µs/event |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, env in VARIANTS.items():
        if env["AGENTSTREAM_BENCH_WS"] == "wsproto" and not importlib.util.find_spec("wsproto"):
            print(f"| {name} | not installed (`pip install wsproto`) | | | | |")
            continue
        for case, pair in run_variant(env, scale)["throughput"].items():
            a, b = pair["agentstream"], pair["bare"]
            print(
                f"| {name} | {case} | {a['events_per_s']:,.0f} | {a['srv_us_per_event']:.1f} "
                f"| {b['events_per_s']:,.0f} | {b['srv_us_per_event']:.1f} |",
                flush=True,
            )


def encoders() -> None:
    if not importlib.util.find_spec("msgspec"):
        print("\nmsgspec is not installed (`pip install msgspec`): encoders not compared")
        return
    import msgspec

    from agentstream.protocol.codec import to_dict
    from agentstream.protocol.events import TextMessageChunk, stamp

    event = stamp(TextMessageChunk(delta="tok12 ", message_id="m"), run_id="run_x", seq=9, ts=1.5)
    frame = to_dict(event)
    encoder = msgspec.json.Encoder()
    n = 200_000
    cases = {
        "to_dict (building the frame)": lambda: to_dict(event),
        "orjson.dumps(frame).decode()": lambda: orjson.dumps(frame).decode(),
        "msgspec Encoder.encode(frame).decode()": lambda: encoder.encode(frame).decode(),
    }
    print("\n| step | ns per frame |\n|---|---:|")
    for name, fn in cases.items():
        best = min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e9
        print(f"| {name} | {best:,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.5, help="streams.py --scale")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    servers(args.scale)
    encoders()
