"""The ``agentstream`` command: serve an app, make a call from the terminal, prepare models."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from agentstream import clock

cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Stream AI agents to browsers over WebSockets.")
err = Console(stderr=True)

ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="local (Qwen, default), gemma, scripted, a .gguf path, bedrock, openai:…")]


def _model(model: str | None) -> str:
    return model or os.environ.get("AGENTSTREAM_MODEL", "local")


def prepare_model(spec: str) -> None:
    """Assemble and verify local weights up front, with a progress bar, so the first run is quick."""
    from agentstream.models import LOCAL_ALIASES

    if spec not in LOCAL_ALIASES:
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from agentstream.models.weights import resolve

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"Preparing the {LOCAL_ALIASES[spec]} model", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        path = resolve(LOCAL_ALIASES[spec], progress=progress)
    err.print(f"[dim]model: {path}[/dim]")


@cli.command()
def serve(
    app: Annotated[str, typer.Argument(help="calledit, titles, strategy or realestate")] = "calledit",
    model: ModelOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    store: Annotated[str | None, typer.Option(help="sqlite:///path or dynamodb://?endpoint=…")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Serve APP's page and WebSocket API."""
    import uvicorn

    from agentstream.apps import UnknownApp, load_app
    from agentstream.gateway.app import create_app
    from agentstream.gateway.settings import Settings

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    spec = _model(model)
    try:
        agent_app = load_app(app)
    except UnknownApp as exc:
        raise typer.BadParameter(str(exc), param_hint="APP") from None
    _prepare_or_exit(spec)
    settings = Settings(model=spec, store=store or os.environ.get("AGENTSTREAM_STORE"))
    err.print(f"[bold]{agent_app.title or agent_app.name}[/bold] on http://{host}:{port} "
              f"(model: {spec})")
    uvicorn.run(create_app(agent_app, settings), host=host, port=port, log_level=log_level,
                ws_per_message_deflate=False)


def _prepare_or_exit(spec: str) -> None:
    from agentstream.models.weights import WeightsError

    try:
        prepare_model(spec)
    except WeightsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@cli.command()
def call(
    prompt: Annotated[str, typer.Argument(help="Your prediction, in plain words")],
    timezone: Annotated[str, typer.Option("--timezone", "-z", help="IANA timezone")] = "UTC",
    now: Annotated[str | None, typer.Option(help="Pretend it is this ISO time")] = None,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the final record")] = False,
) -> None:
    """Make a call from the terminal: stream the agent's work, then print the record."""
    from agentstream.apps.calledit.schemas import MakeCall

    spec = _model(model)
    try:
        request = MakeCall(prompt=prompt, timezone=timezone)
        if now is not None:
            clock.parse_timestamp(now)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _prepare_or_exit(spec)
    with clock.override(now):
        record = asyncio.run(_stream_call(request, spec, quiet=as_json))
    if record is None:
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(record, indent=2))


async def _stream_call(request: Any, spec: str, *, quiet: bool) -> dict[str, Any] | None:
    from agentstream.apps.calledit.agent import make_call
    from agentstream.cli_render import TerminalPrinter
    from agentstream.gateway.context import RouteContext
    from agentstream.gateway.settings import Settings
    from agentstream.runs.run import Run

    run = Run(owner="cli", app="calledit")
    ctx = RouteContext(connection_id="cli", user="cli", settings=Settings(model=spec), run=run)
    printer = TerminalPrinter(err, quiet=quiet)
    run.subscribe(printer)
    run.start(lambda _run: make_call(request, ctx), input=request.model_dump())
    try:
        await run.wait()
    except asyncio.CancelledError:
        run.cancel("interrupted")
        raise
    return printer.result


@cli.command()
def models(
    name: Annotated[str, typer.Argument(help="qwen or gemma")] = "qwen",
) -> None:
    """Assemble and verify a local model's weights now (normally done on first use)."""
    _prepare_or_exit(name)


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
