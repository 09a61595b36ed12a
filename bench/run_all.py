"""Run every benchmark, one after another, each in its own process (``make bench``).

    .venv/bin/python bench/run_all.py [--quick] [--model local|gemma|scripted] [--no-write]
                                      [--only streams,store_writes,...]

- ``streams.py``: the gateway against a bare Starlette endpoint (throughput, latency, first event,
  idle memory);
- ``options.py``: uvicorn WebSocket implementations, per-message-deflate, JSON encoders;
- ``store_writes.py``: the SQLite store's calls/s and CPU per call at 1..N concurrent streams
  (group commit);
- ``model_delivery.py``: tokens/s a WebSocket client receives vs. what the model generates;
- ``timeline.py``: when substance reaches the user, five requests per app;
- ``aws_delivery.py``: a 1,000-token answer through the Lambda adapter vs. one post per token.
- ``nodes.py``: events/s and latency with 1, 2 and 3 gateway nodes on one Redis (its own
  redis-server).

``--quick`` runs small sizes, Gemma for the model benchmarks and two requests per app, as a smoke
run. Without a local model installed (no xllamacpp) the model benchmarks are skipped, and the
timeline uses the scripted model. Each benchmark's tables go to stdout and replace its section
between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in docs/benchmarks.md, headed by the
date, the machine (cores, CPU, load) and the exact command (``--no-write`` leaves the file alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"


def plan(quick: bool, model: str) -> list[list[str]]:
    """The benchmark command lines to run."""
    have_local = importlib.util.find_spec("xllamacpp") is not None
    if not have_local and model != "scripted":
        print("xllamacpp is not installed: model benchmarks skipped, timeline on 'scripted'")
        model = "scripted"
    commands = [["streams.py", *(["--quick"] if quick else ["--reps", "5"])]]
    commands.append(["options.py", *(["--scale", "0.1"] if quick else [])])
    commands.append(["store_writes.py", *(["--streams", "200", "--reps", "1"] if quick else [])])
    if model != "scripted":
        commands.append(["model_delivery.py", "gemma" if quick else _weights(model)])
    timeline = ["timeline.py", "--model", model]
    commands.append([*timeline, "--runs", "2"] if quick else timeline)
    commands.append(["aws_delivery.py", *(["--quick"] if quick else [])])
    if shutil.which("redis-server") or Path("/usr/bin/redis-server").exists():
        commands.append(["nodes.py", *(["--quick"] if quick else [])])
    return commands


def _weights(model: str) -> str:
    return "qwen" if model in ("local", "qwen") else model


def machine() -> str:
    """Cores, CPU model, Python and the load average: what the numbers depend on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1).strip() if found else cpu
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load {load}"


def section(command: list[str], output: str, started: dt.datetime) -> str:
    """A benchmark's section: when, where, the exact command, then its tables."""
    shown = " ".join([".venv/bin/python", f"bench/{command[0]}", *command[1:]])
    return f"Run {started:%Y-%m-%d %H:%M} UTC on {machine()}.\n\n`{shown}`\n\n{output.strip()}\n"


def rewrite(doc: str, name: str, body: str) -> str:
    """``doc`` with the section between the markers of ``name`` replaced by ``body``."""
    pattern = re.compile(rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{name} -->)", re.S)
    if not pattern.search(doc):
        return doc.rstrip() + f"\n\n<!-- bench:{name} -->\n{body}<!-- /bench:{name} -->\n"
    return pattern.sub(lambda m: m.group(1) + "\n" + body + "\n" + m.group(2), doc)


def main() -> int:
    """Run the benchmarks; the exit status is the number that failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--model", default="local", help="model for the model benchmarks")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--only", default="", help="comma-separated names (streams,nodes,...)")
    args = parser.parse_args()
    model = "gemma" if args.quick and args.model == "local" else args.model
    only = {name.strip().removesuffix(".py") for name in args.only.split(",") if name.strip()}
    failed = 0
    for script, *rest in plan(args.quick, model):
        if only and script.removesuffix(".py") not in only:
            continue
        command = [sys.executable, str(HERE / script), *rest]
        print(f"\n## {script} {' '.join(rest)}\n", flush=True)
        started, clock = dt.datetime.now(dt.UTC), time.monotonic()
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        print(result.stdout, flush=True)
        print(f"\n({script}: exit {result.returncode}, {time.monotonic() - clock:.0f} s)")
        failed += result.returncode != 0
        if result.returncode == 0 and not args.no_write:
            name = script.removesuffix(".py")
            DOC.write_text(
                rewrite(DOC.read_text(), name, section([script, *rest], result.stdout, started))
            )
    return failed


if __name__ == "__main__":
    sys.exit(main())
