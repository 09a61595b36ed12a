"""Run every benchmark, one after another, each in its own process (``make bench``).

    .venv/bin/python bench/run_all.py [--quick] [--model local|gemma|scripted]

- ``streams.py``: the gateway against a bare Starlette endpoint (throughput, latency, first event);
- ``model_delivery.py``: tokens/s a WebSocket client receives vs. what the model generates;
- ``timeline.py``: when substance reaches the user, five requests per app;
- ``aws_delivery.py``: a 1,000-token answer through the Lambda adapter vs. one post per token.

``--quick`` runs small sizes, Gemma for the model benchmarks and two requests per app, as a smoke
run. Without a local model installed (no xllamacpp) the model benchmarks are skipped, and the
timeline uses the scripted model. Tables go to stdout; paste them into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plan(quick: bool, model: str) -> list[list[str]]:
    """The benchmark command lines to run."""
    have_local = importlib.util.find_spec("xllamacpp") is not None
    if not have_local and model != "scripted":
        print("xllamacpp is not installed: model benchmarks skipped, timeline on 'scripted'")
        model = "scripted"
    commands = [["streams.py", *(["--quick"] if quick else [])]]
    if model != "scripted":
        commands.append(["model_delivery.py", "gemma" if quick else _weights(model)])
    timeline = ["timeline.py", "--model", model]
    commands.append([*timeline, "--runs", "2"] if quick else timeline)
    commands.append(["aws_delivery.py", *(["--quick"] if quick else [])])
    return commands


def _weights(model: str) -> str:
    return "qwen" if model in ("local", "qwen") else model


def main() -> int:
    """Run the benchmarks; the exit status is the number that failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--model", default="local", help="model for the model benchmarks")
    args = parser.parse_args()
    model = "gemma" if args.quick and args.model == "local" else args.model
    failed = 0
    for script, *rest in plan(args.quick, model):
        command = [sys.executable, str(HERE / script), *rest]
        print(f"\n## {script} {' '.join(rest)}\n", flush=True)
        started = time.monotonic()
        code = subprocess.call(command)
        print(f"\n({script}: exit {code}, {time.monotonic() - started:.0f} s)", flush=True)
        failed += code != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
