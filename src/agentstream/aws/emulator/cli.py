"""``agentstream emulate``'s flags, kept with the emulator so ``agentstream/cli.py`` stays small.

Importing this module costs only typer: the emulator itself loads when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

Target = Annotated[
    str, typer.Argument(metavar="TEMPLATE|APP", help="A SAM/CloudFormation template, or an app")
]


def emulate(
    template: Target,
    port: Annotated[int, typer.Option(help="Port for WebSockets, @connections and Bedrock")] = 3001,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    model: Annotated[
        str, typer.Option(help="Model behind the local Bedrock endpoint: local, gemma, scripted")
    ] = "local",
    dynamodb_endpoint: Annotated[
        str | None, typer.Option(help="Use this DynamoDB instead of starting a moto server")
    ] = None,
    management_secret: Annotated[
        str | None, typer.Option(help="Let non-loopback peers call @connections with this secret")
    ] = None,
    idle_timeout: Annotated[float, typer.Option(help="Idle close, seconds (AWS: 600)")] = 600.0,
    integration_timeout: Annotated[
        float, typer.Option(help="Integration timeout, seconds (AWS: 29)")
    ] = 29.0,
    watch: Annotated[
        bool, typer.Option("--watch", help="Reload handlers when code changes")
    ] = False,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve @connections over TLS at localhost (AWS_CA_BUNDLE)")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every event sent")] = False,
) -> None:
    """Run a template, or an app in agentstream's template, offline: API Gateway, Lambda...

    An app is calledit, module:app or file.py:app, served by deploy/template.yaml's stack.
    """
    from agentstream.aws.emulator.command import options, run
    from agentstream.aws.emulator.intrinsics import TemplateError
    from agentstream.cli import _prepare_or_exit

    opts = options(
        host=host,
        port=port,
        model=model,
        dynamodb_endpoint=dynamodb_endpoint,
        management_secret=management_secret,
        verbose=verbose,
        idle_timeout=idle_timeout,
        integration_timeout=integration_timeout,
        tls=tls,
    )
    _prepare_or_exit(model)  # local weights are assembled before the first Bedrock call
    try:
        run(template, opts, watch_code=watch)
    except (TemplateError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="TEMPLATE") from None
