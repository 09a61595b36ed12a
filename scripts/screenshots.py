"""Take the docs' screenshots from real runs: ``python scripts/screenshots.py [--model gemma]``.

Tests never write into ``docs/``; this script does, and only when asked. It serves CalledIt and
the strategy builder with the model you name (``local`` = the default Qwen, ``gemma`` = the small
test model, or ``scripted`` for a quick look) and a pinned clock (``AGENTSTREAM_NOW``), drives
Debian's Chromium through the pages, and writes the PNGs plus a ``README.md`` whose captions name
the model and the clock. The error shot is the one stand-in: CalledIt's page over a makecall that
writes a few words and then fails as a provider outage does (a real model cannot be made to fail
on cue); its caption says so.

    PYTHONPATH=src .venv/bin/python scripts/screenshots.py --model gemma --out /tmp/shots
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("AGENTSTREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CALL = "Bitcoin will close above $150,000 by the end of March"
PHONE_CALL = "It will snow in Paris on Christmas Day"
STRATEGY = "I have $5000 and want a conservative strategy with 3% monthly returns"
MODEL_NAMES = {
    "local": "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (embedded, the default)",
    "qwen": "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (embedded, the default)",
    "gemma": "Gemma 3 270M Q4_K_M (embedded test model)",
    "scripted": "the scripted model (deterministic demo, not a real model)",
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server(app: str, model: str, now: str, data: Path) -> Iterator[str]:
    """``agentstream serve APP`` in a child process; yields its base URL."""
    port = free_port()
    cli = Path(sys.executable).with_name("agentstream")
    command = [str(cli), "serve", app, "--model", model, "--port", str(port)]
    command += ["--store", f"sqlite://{data / f'{app}-{port}.db'}", "--log-level", "warning"]
    env = {**os.environ, "AGENTSTREAM_NOW": now}
    child = subprocess.Popen(command, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a real model loads its weights first
        while True:
            if child.poll() is not None:
                raise SystemExit(f"{app} server exited with {child.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{app} server did not answer /healthz")
            time.sleep(0.5)
        yield url
    finally:
        child.terminate()
        child.wait(20)


class ModelUnavailable(Exception):
    """The stand-in outage: what a provider error looks like once translated at the boundary."""

    code = "model_unavailable"


@contextlib.contextmanager
def failing_server() -> Iterator[str]:
    """CalledIt's page over a makecall that fails after a few words; yields its base URL."""
    import uvicorn

    from agentstream.apps.calledit.schemas import MakeCall
    from agentstream.gateway.app import create_app
    from agentstream.gateway.routes import AgentApp
    from agentstream.gateway.settings import Settings
    from agentstream.protocol.events import Event, TextMessageChunk

    static = ROOT / "src" / "agentstream" / "apps" / "calledit" / "static"
    app = AgentApp(name="calledit", title="CalledIt", dialect="calledit", static_dir=static)

    @app.run("makecall", MakeCall)
    async def make_call(request: MakeCall, ctx: Any) -> AsyncIterator[Event]:
        for word in ("Let ", "me ", "check ", "today's ", "date ", "first. "):
            await asyncio.sleep(0.05)
            yield TextMessageChunk(delta=word)
        raise ModelUnavailable("The model server stopped responding (HTTP 503). Try again soon.")

    port = free_port()
    asgi = create_app(app, Settings(model="scripted", store="none"))
    config = uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


def shoot(page: Any, out: Path, name: str, full_page: bool = False) -> None:
    """A screenshot with animations settled."""
    page.screenshot(path=str(out / name), animations="disabled", full_page=full_page, caret="hide")
    print(f"  wrote {out / name}")


def make_call(page: Any, url: str, prompt: str) -> None:
    """Open CalledIt and send ``prompt`` as a keyboard user would."""
    page.goto(url + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#prompt", prompt)
    page.press("#prompt", "Enter")


# Mid-stream with at least one card field shown, or the run over (then the caption says so).
# Half filled: the date (from the tool), the statement and the first sources are on the card, the
# criteria and steps still to come.
HALF_FILLED = """() => document.body.dataset.runState !== 'streaming'
    || document.querySelectorAll('#card .filled').length >= 3"""


def calledit_shots(browser: Any, url: str, out: Path, notes: dict[str, str]) -> None:
    """Empty page, mid-stream with the card half filled, finished, then My Calls."""
    context = new_context(browser)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#conn[data-status='live']")
    shoot(page, out, "empty.png")
    make_call(page, url, CALL)
    page.wait_for_function(HALF_FILLED, timeout=300_000, polling=50)
    shoot(page, out, "streaming.png")
    if page.get_attribute("body", "data-run-state") == "streaming":
        notes["streaming.png"] = "mid-stream: the card fills in as fields arrive"
    else:
        notes["streaming.png"] = "NOT mid-stream: the run ended before the card showed a field"
    page.wait_for_selector("#card[aria-busy='false']", timeout=300_000)
    shoot(page, out, "finished.png", full_page=True)
    if page.is_visible("#logcall"):
        page.click("#logcall")
        page.wait_for_selector("#logcall[data-done]")
        page.click("#tab-calls")
        page.wait_for_selector("#calls .call")
        shoot(page, out, "my-calls.png", full_page=True)
    context.close()


def phone_dark_shot(browser: Any, url: str, out: Path) -> None:
    """A finished call on a phone-sized screen in dark mode."""
    context = new_context(browser, viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    make_call(page, url, PHONE_CALL)
    page.wait_for_selector("#card[aria-busy='false']", timeout=300_000)
    shoot(page, out, "phone-dark.png", full_page=True)
    context.close()


def error_shot(browser: Any, url: str, out: Path) -> None:
    """What a failed call looks like: the model server is not there."""
    context = new_context(browser)
    page = context.new_page()
    make_call(page, url, CALL)
    page.wait_for_selector("body[data-run-state='failed']", timeout=120_000)
    shoot(page, out, "error.png")
    context.close()


def strategy_shot(browser: Any, url: str, out: Path, notes: dict[str, str]) -> None:
    """The strategy builder mid-stream: chat text in, panel sections arriving."""
    context = new_context(browser)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#conn[data-status='live']")
    page.fill("#input", STRATEGY)
    page.press("#input", "Enter")
    mid = """() => document.querySelector('#stop').hidden
        || document.querySelector('#risk').dataset.risk || document.querySelector('#flow svg')"""
    page.wait_for_function(mid, timeout=300_000, polling=50)
    shoot(page, out, "strategy.png")
    if page.is_visible("#stop"):
        notes["strategy.png"] = "mid-stream: the panel fills section by section"
    else:
        notes["strategy.png"] = "NOT mid-stream: the answer ended before a panel section showed"
    page.wait_for_selector("#send:not([hidden])", timeout=300_000)
    shoot(page, out, "strategy-finished.png")
    context.close()


def new_context(browser: Any, **overrides: Any) -> Any:
    """A fresh profile: desktop size, Paris time, British English, light mode unless told."""
    options: dict[str, Any] = {
        "viewport": {"width": 1180, "height": 860},
        "timezone_id": "Europe/Paris",
        "locale": "en-GB",
        "color_scheme": "light",
        "device_scale_factor": 1,
        **overrides,
    }
    context = browser.new_context(**options)
    context.set_default_timeout(30_000)
    return context


def write_captions(out: Path, model: str, now: str, notes: dict[str, str]) -> None:
    """``README.md`` beside the images: what each shows, with which model and clock."""
    name = MODEL_NAMES.get(model, model)
    lines = [
        "# Screenshots",
        "",
        f"Model: **{name}**. Clock pinned to `{now}` (`AGENTSTREAM_NOW`).",
        f"Taken by `scripts/screenshots.py --model {model} --now {now}` in Debian's Chromium",
        "(Europe/Paris, en-GB).",
        "",
        "| file | shows |",
        "|---|---|",
    ]
    shows = {
        "empty.png": "CalledIt, ready",
        "streaming.png": notes.get("streaming.png", ""),
        "finished.png": "the finished record card",
        "my-calls.png": "My Calls after logging the call",
        "phone-dark.png": "a finished call on a phone, dark mode",
        "error.png": "a failed call (a stand-in outage, not the model named here)",
        "strategy.png": "Strategy builder, " + notes.get("strategy.png", ""),
        "strategy-finished.png": "Strategy builder, the finished answer",
    }
    for file, text in shows.items():
        if (out / file).exists():
            lines.append(f"| `{file}` | {text} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


def with_browser(work: Callable[[Any], None]) -> None:
    """Run ``work(browser)`` with Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            work(browser)
        finally:
            browser.close()


def main() -> None:
    """Parse the options, serve the apps, take the shots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma", help="local, gemma or scripted")
    parser.add_argument("--now", default="2026-11-30T15:50:00+01:00", help="the pinned clock")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--skip-strategy", action="store_true", help="CalledIt shots only")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)

        def work(browser: Any) -> None:
            with server("calledit", args.model, args.now, data) as url:
                calledit_shots(browser, url, out, notes)
                phone_dark_shot(browser, url, out)
            with failing_server() as url:
                error_shot(browser, url, out)
            if not args.skip_strategy:
                with server("strategy", args.model, args.now, data) as url:
                    strategy_shot(browser, url, out, notes)

        with_browser(work)
    write_captions(out, args.model, args.now, notes)


if __name__ == "__main__":
    main()
