"""Identity on the command line: ``serve``'s auth flags, ``agentstream keys``, the CLI's own cookie.

- ``serve`` turns authentication on by itself when it listens beyond loopback (``--host
  0.0.0.0``): JWT when ``--jwt-secret`` or ``--jwks`` is given, else API keys. ``--auth off``
  keeps it off on purpose (a reverse proxy that authenticates, say).
- ``agentstream keys add NAME`` prints a new API key once and stores its SHA-256;
  ``keys list`` and ``keys revoke NAME`` manage them (the file a server with ``--auth apikey``
  reads, re-read when it changes).
- ``agentstream call --url`` keeps one identity per server: the cookie the server hands a new
  connection is saved in ``$XDG_CONFIG_HOME/agentstream/identities.json`` (mode 0600) under the
  server's ``host:port`` and sent again next time, so the CLI's calls stay its own.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

if TYPE_CHECKING:
    from agentstream.gateway.apikeys import KeyRing

keys_cli = typer.Typer(no_args_is_help=True, help="Manage API keys (--auth apikey).")

AuthOpt = Annotated[
    str | None, typer.Option(help="off, jwt or apikey (default: off on loopback, on beyond it)")
]
SecretOpt = Annotated[
    str | None, typer.Option(help="Cookie signing secret (default: kept by the store)")
]
JwtSecretOpt = Annotated[str | None, typer.Option(help="HS256 secret for JWTs")]
JwksOpt = Annotated[str | None, typer.Option(help="JWKS file or URL (RS256/ES256 keys)")]
AudienceOpt = Annotated[str | None, typer.Option(help="The JWT aud to require")]
IssuerOpt = Annotated[str | None, typer.Option(help="The JWT iss to require")]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="The key file (default: api-keys.json next to the data)"),
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface to listen on) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def choose_auth(host: str, auth: str | None, *, jwt_configured: bool) -> str:
    """The auth mode ``serve`` runs with: as asked, else on when ``host`` is beyond loopback."""
    if auth is not None:
        return auth
    if is_loopback(host):
        return os.environ.get("AGENTSTREAM_AUTH", "off")
    return "jwt" if jwt_configured else "apikey"


def serve_env(host: str, auth: str | None, *values: str | None) -> str:
    """Put ``serve``'s auth flags in ``AGENTSTREAM_*`` (a reloading worker reads them there).

    Args:
        host: The interface ``serve`` listens on.
        auth: ``--auth``, None when not given.
        *values: ``--secret``, ``--jwt-secret``, ``--jwks``, ``--jwt-audience``,
            ``--jwt-issuer``, in that order (None when not given).

    Returns:
        The auth mode chosen.
    """
    names = ("SECRET", "JWT_SECRET", "JWKS", "JWT_AUDIENCE", "JWT_ISSUER")
    flags = {f"AGENTSTREAM_{name}": value for name, value in zip(names, values, strict=True)}
    for name, value in flags.items():
        if value is not None:
            os.environ[name] = value
    jwt_configured = bool(
        os.environ.get("AGENTSTREAM_JWT_SECRET") or os.environ.get("AGENTSTREAM_JWKS")
    )
    mode = choose_auth(host, auth, jwt_configured=jwt_configured)
    if mode not in ("off", "jwt", "apikey"):
        raise typer.BadParameter(f"--auth must be off, jwt or apikey, not {mode!r}")
    os.environ["AGENTSTREAM_AUTH"] = mode
    return mode


def _ring(file: Path | None) -> KeyRing:
    from agentstream.gateway.apikeys import KeyRing
    from agentstream.gateway.auth import keys_path
    from agentstream.gateway.settings import Settings

    return KeyRing(file or keys_path(Settings()))


@keys_cli.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="Who the key is for")], file: FileOpt = None
) -> None:
    """Make a key for NAME and print it (only now: just its hash is kept)."""
    ring = _ring(file)
    try:
        key = ring.add(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    typer.echo(key)


@keys_cli.command("list")
def keys_list(file: FileOpt = None) -> None:
    """List key names and when they were made (never the keys)."""
    ring = _ring(file)
    for name, created in ring.names():
        typer.echo(f"{name}\t{time.strftime('%Y-%m-%d %H:%M', time.gmtime(created))} UTC")


@keys_cli.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="The key to revoke")], file: FileOpt = None
) -> None:
    """Revoke NAME's key; a running server refuses it from its next request."""
    ring = _ring(file)
    if not ring.revoke(name):
        raise typer.BadParameter(f"no key named {name!r}", param_hint="NAME")


def identities_file() -> Path:
    """Where the CLI keeps its identity cookie per server."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentstream" / "identities.json"


def _server_key(url: str) -> str:
    return urlsplit(url).netloc.lower()


def saved_cookie(url: str) -> str | None:
    """The identity cookie kept for the server at ``url``, if any."""
    try:
        saved: dict[str, str] = json.loads(identities_file().read_text())
    except (FileNotFoundError, ValueError):
        return None
    return saved.get(_server_key(url))


def save_cookie(url: str, cookie: str) -> None:
    """Keep ``cookie`` as the CLI's identity on the server at ``url`` (file mode 0600)."""
    path = identities_file()
    try:
        saved: dict[str, str] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        saved = {}
    saved[_server_key(url)] = cookie
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out, indent=2)
    os.replace(path.with_suffix(".tmp"), path)
