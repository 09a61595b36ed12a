"""The ``agentstream`` command: serve an app, make a call from the terminal, prepare models."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from agentstream import clock
from agentstream.aws.emulator.cli import emulate
from agentstream.cli_auth import (
    AudienceOpt,
    AuthOpt,
    IssuerOpt,
    JwksOpt,
    JwtSecretOpt,
    SecretOpt,
    keys_cli,
    save_cookie,
    saved_cookie,
    serve_env,
)

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Stream AI agents to browsers over WebSockets."
)
cli.add_typer(keys_cli, name="keys")
err = Console(stderr=True)

LogFormatOpt = Annotated[
    str, typer.Option(help="text, or json: one JSON object per line, with its ids")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="local (Qwen, default), gemma, scripted, a .gguf path, bedrock, openai:…",
    ),
]


def _model(model: str | None) -> str:
    return model or os.environ.get("AGENTSTREAM_MODEL", "local")


def prepare_model(spec: str) -> None:
    """Assemble and verify local weights up front, with a progress bar: the first run is quick."""
    from agentstream.models import LOCAL_ALIASES

    if spec not in LOCAL_ALIASES:
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from agentstream.models.weights import resolve

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"Preparing the {LOCAL_ALIASES[spec]} model", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        path = resolve(LOCAL_ALIASES[spec], progress=progress)
    err.print(f"[dim]model: {path}[/dim]")


AppArg = Annotated[
    str,
    typer.Argument(
        help="calledit, titles, strategy, realestate, or your own: module:app or "
        "path/to/file.py:app"
    ),
]


@cli.command()
def serve(
    app: AppArg = "calledit",
    model: ModelOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    store: Annotated[
        str | None, typer.Option(help="sqlite:///path, dynamodb://… or redis://host:port/db")
    ] = None,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the app's files change (development)")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    auth: AuthOpt = None,
    secret: SecretOpt = None,
    jwt_secret: JwtSecretOpt = None,
    jwks: JwksOpt = None,
    jwt_audience: AudienceOpt = None,
    jwt_issuer: IssuerOpt = None,
    log_format: LogFormatOpt = "text",
) -> None:
    """Serve APP's page and WebSocket API."""
    import uvicorn

    from agentstream.apps import UnknownApp, load_app

    log_config = _configure_logs(log_level, log_format)
    spec = _model(model)
    try:
        agent_app = load_app(app)
    except UnknownApp as exc:
        raise typer.BadParameter(str(exc), param_hint="APP") from None
    _prepare_or_exit(spec)
    if app == "calledit":
        _warm_calledit(spec)
    # The reloading worker is a fresh process: it rebuilds the app from these variables.
    os.environ.update({"AGENTSTREAM_APP": app, "AGENTSTREAM_MODEL": spec})
    if store is not None:
        os.environ["AGENTSTREAM_STORE"] = store
    mode = serve_env(host, auth, secret, jwt_secret, jwks, jwt_audience, jwt_issuer)
    title = agent_app.title or agent_app.name
    err.print(f"[bold]{title}[/bold] on http://{host}:{port} (model: {spec}, auth: {mode})")
    uvicorn.run(
        "agentstream.cli:asgi_app" if reload else asgi_app(),
        factory=reload,
        reload=reload,
        reload_dirs=_reload_dirs(app) if reload else None,
        host=host,
        port=port,
        **_server_options(log_level, log_config),
    )


def _server_options(log_level: str, log_config: Any) -> dict[str, Any]:
    """Uvicorn's logging options, and no per-message-deflate (it costs 29-55 % CPU per frame)."""
    return {"log_level": log_level, "log_config": log_config, "ws_per_message_deflate": False}


def _configure_logs(level: str, fmt: str) -> Any:
    """Set up logging in ``fmt``; returns uvicorn's ``log_config`` to match."""
    from uvicorn.config import LOGGING_CONFIG

    from agentstream import logs

    try:
        logs.configure(level, fmt)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-format") from None
    # JSON: uvicorn's own loggers go through our root handler instead of its text config.
    return None if fmt == "json" else LOGGING_CONFIG


def asgi_app() -> Any:
    """The ASGI app for ``AGENTSTREAM_APP`` (the app ``serve`` was given), with env settings."""
    from agentstream.apps import load_app
    from agentstream.gateway.app import create_app
    from agentstream.gateway.settings import Settings

    return create_app(load_app(os.environ.get("AGENTSTREAM_APP", "calledit")), Settings())


def _reload_dirs(app: str) -> list[str]:
    """Watch the app file's folder (``file.py:app``), else the current directory."""
    target = app.rpartition(":")[0]
    if target.endswith(".py"):
        return [os.path.dirname(os.path.abspath(target))]
    return [os.getcwd()]


def _warm_calledit(spec: str) -> None:
    """Load a local model and read CalledIt's prompt prefix before the first call needs it."""
    from agentstream.apps.calledit.agent import warm
    from agentstream.models import LOCAL_ALIASES, create_model

    if spec not in LOCAL_ALIASES:
        return
    with err.status("Loading the model and reading CalledIt's prompt…"):
        tokens = asyncio.run(warm(create_model(spec)))
    err.print(f"[dim]prompt prefix cached: {tokens} tokens[/dim]")


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
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Ask a running server (ws://host:port/ws) instead of running the agent here; "
            "a dropped connection resumes where it stopped",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="AGENTSTREAM_TOKEN", help="Bearer token (JWT or API key) for --url"),
    ] = None,
) -> None:
    """Make a call from the terminal: stream the agent's work, then print the record."""
    from agentstream.apps.calledit.schemas import MakeCall

    try:
        request = MakeCall(prompt=prompt, timezone=timezone)
        if now is not None:
            clock.parse_timestamp(now)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if url is not None:
        # The server's model and clock decide a remote call; say so rather than ignore the option.
        if model is not None or now is not None:
            raise typer.BadParameter("--model and --now apply to local calls, not with --url")
        remote = _remote_call(request, url, quiet=as_json, token=token)
        _print_record(asyncio.run(remote), as_json)
        return
    spec = _model(model)
    _prepare_or_exit(spec)
    with clock.override(now):
        record = asyncio.run(_stream_call(request, spec, quiet=as_json))
    _print_record(record, as_json)


def _print_record(record: dict[str, Any] | None, as_json: bool) -> None:
    if record is None:
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(record, indent=2))


def _canonical(url: str) -> str:
    """``url`` asking for the canonical dialect (the printer reads canonical events)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "dialect"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("dialect", "agentstream")])))


async def _remote_call(
    request: Any, url: str, *, quiet: bool, token: str | None = None
) -> dict[str, Any] | None:
    from websockets.exceptions import InvalidStatus

    # One identity per server: the cookie it handed us last time (see cli_auth).
    cookie = None if token else saved_cookie(url)
    try:
        try:
            return await _remote_once(request, url, quiet=quiet, token=token, cookie=cookie)
        except InvalidStatus as exc:
            if exc.response.status_code != 401 or cookie is None:
                raise
            # The server no longer knows our cookie (its secret changed): take a fresh one.
            return await _remote_once(request, url, quiet=quiet, token=None, cookie=None)
    except InvalidStatus as exc:
        err.print(f"[red]error:[/red] {url}: refused with HTTP {exc.response.status_code}")
        return None


async def _remote_once(
    request: Any, url: str, *, quiet: bool, token: str | None, cookie: str | None
) -> dict[str, Any] | None:
    from agentstream.cli_render import TerminalPrinter
    from agentstream.client import Client, ClientError, ConnectionLost
    from agentstream.protocol.codec import from_dict

    printer = TerminalPrinter(err, quiet=quiet)
    try:
        async with Client(_canonical(url), token=token, cookie=cookie, coalesce="auto") as client:
            if client.cookie and client.cookie != cookie:
                save_cookie(url, client.cookie)
            stream = await client.start("makecall", **request.model_dump(mode="json"))
            async for frame in stream:
                printer.deliver(from_dict(frame))
    except (ClientError, ConnectionLost, OSError) as exc:
        err.print(f"[red]error:[/red] {url}: {exc}")
        return None
    return printer.result


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


StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="sqlite:///path or dynamodb://?endpoint=… (default: AGENTSTREAM_STORE, else "
        "the SQLite file under the data dir)",
    ),
]


@cli.command()
def verify(
    due: Annotated[bool, typer.Option("--due", help="Verify every pending call now due")] = False,
    call_id: Annotated[str | None, typer.Option("--call-id", help="Verify this call")] = None,
    user: Annotated[str | None, typer.Option(help="The user who owns --call-id")] = None,
    now: Annotated[str | None, typer.Option(help="Pretend it is this ISO time")] = None,
    force: Annotated[bool, typer.Option(help="Verify --call-id even if not due yet")] = False,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON line per call")] = False,
) -> None:
    """Run the verification agent on calls whose verification date has come; store verdicts."""
    if due == (call_id is not None):
        raise typer.BadParameter("pass either --due or --call-id")
    try:
        if now is not None:
            clock.parse_timestamp(now)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--now") from None
    spec = _model(model)
    _prepare_or_exit(spec)
    job = _VerifyJob(
        spec=spec, store_url=store, call_id=call_id, user=user, force=force, quiet=as_json
    )
    with clock.override(now):
        failures = asyncio.run(job.run())
    if failures:
        raise typer.Exit(1)


class _VerifyJob:
    """The calls one ``agentstream verify`` checks, verified in turn, a line printed for each."""

    def __init__(
        self,
        *,
        spec: str,
        store_url: str | None,
        call_id: str | None,
        user: str | None,
        force: bool,
        quiet: bool,
    ) -> None:
        """Verify with model ``spec`` against the store at ``store_url``, as of today."""
        self.spec, self.store_url, self.call_id = spec, store_url, call_id
        self.user, self.force, self.quiet = user, force, quiet
        self.today = dt.date.min

    async def run(self) -> int:
        """Verify the calls due as of now (``--now`` included); how many failed."""
        from agentstream.stores import StoreError, open_store

        self.today = clock.now("UTC").date()

        try:
            async with open_store(self.store_url) as store:
                calls = await self._calls(store)
                results = [await self._verify(store, call) for call in calls]
        except StoreError as exc:
            err.print(f"[red]error (store):[/red] {exc}")
            raise typer.Exit(2) from None
        if not calls:
            err.print(f"[dim]no pending calls due by {self.today}[/dim]")
        return results.count(False)

    async def _calls(self, store: Any) -> list[Any]:
        from agentstream.apps.calledit.records import calls_of

        calls = calls_of(store)
        if self.call_id is not None and self.user is not None:
            return [await calls.get_call(self.user, self.call_id)]
        due: list[Any] = []
        seen: set[str] = set()
        while True:  # a call that fails stays pending: stop when a batch brings nothing new
            batch = [c for c in await calls.due_calls(self.today) if c.call_id not in seen]
            if not batch:
                break
            seen.update(c.call_id for c in batch)
            due.extend(batch)
        if self.call_id is None:
            return due
        picked = [c for c in due if c.call_id == self.call_id]
        if not picked:
            err.print(
                f"[red]error:[/red] no pending call {self.call_id} is due by {self.today}; "
                "pass --user (and --force) to verify it anyway"
            )
            raise typer.Exit(1)
        return picked

    async def _verify(self, store: Any, call: Any) -> bool:
        from agentstream.apps.calledit.calls import verify_call
        from agentstream.cli_render import TerminalPrinter
        from agentstream.gateway.context import RouteContext
        from agentstream.gateway.settings import Settings
        from agentstream.runs.run import Run

        run = Run(owner=call.user_id, app="calledit")
        ctx = RouteContext(
            connection_id="cli", user=call.user_id, settings=Settings(model=self.spec), run=run
        )
        printer = TerminalPrinter(err, quiet=True)
        run.subscribe(printer)
        events = verify_call(store, call, ctx, today=self.today, force=self.force)
        run.start(lambda _run: events, input={"action": "verify", "callId": call.call_id})
        try:
            await run.wait()
        except asyncio.CancelledError:
            run.cancel("interrupted")
            raise
        if printer.result is None:
            return False
        self._print(call, printer.result["verdict"])
        return True

    def _print(self, call: Any, verdict: dict[str, Any]) -> None:
        date = call.record["verification_date"]
        if self.quiet:
            print(
                json.dumps(
                    {
                        "call_id": call.call_id,
                        "user": call.user_id,
                        "verification_date": date,
                        "verdict": verdict,
                    }
                ),
                flush=True,
            )
            return
        statement = call.record["prediction_statement"]
        print(f"{call.call_id}  {verdict['status']:<14}  {date}  {statement}", flush=True)


@cli.command()
def models(
    name: Annotated[str, typer.Argument(help="qwen or gemma")] = "qwen",
) -> None:
    """Assemble and verify a local model's weights now (normally done on first use)."""
    _prepare_or_exit(name)


# ``agentstream emulate TEMPLATE``: defined with the emulator, registered here.
cli.command()(emulate)


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
