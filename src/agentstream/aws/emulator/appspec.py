"""``agentstream emulate APP``: an app spec emulated as agentstream's own template deploys it.

``agentstream emulate calledit`` (or ``mypkg.mod:app``, ``app.py:app``, as ``agentstream serve``
takes) serves the template shipped in this package — the same file as the repository's
``deploy/template.yaml`` — with its ``App`` parameter (the function's ``AGENTSTREAM_APP``) set to
the spec, so the app runs through the Lambda adapter exactly as ``sam deploy`` would run it. The
function's code folder is the current directory, as ``sam build`` would package the project: a
``module:app`` there imports, and a file spec is made absolute first.

A path ending in ``.yaml``, ``.yml``, ``.json`` or ``.template``, or an existing file that is not
Python, is a template, as before.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

from agentstream.aws.emulator.intrinsics import TemplateError
from agentstream.aws.emulator.template import Stack, load_stack

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
STACK_NAME = "agentstream"


def shipped_template() -> Path:
    """The SAM template shipped with agentstream (``agentstream/aws/template.yaml``)."""
    return Path(str(resources.files("agentstream.aws").joinpath("template.yaml")))


def is_template(target: str) -> bool:
    """Whether ``target`` names a template file rather than an app spec."""
    path = Path(target)
    if path.suffix.lower() in TEMPLATE_SUFFIXES:
        return True
    return ":" not in target and path.is_file() and path.suffix != ".py"


def absolute_spec(spec: str, cwd: Path) -> str:
    """``spec`` with a ``path/file.py:app`` made absolute (handlers run in their code folder)."""
    target, sep, attr = spec.rpartition(":")
    if sep and target.endswith(".py"):
        return f"{(cwd / target).resolve()}:{attr}"
    return spec


def check_app(spec: str) -> None:
    """Load the app once here, so a bad spec fails now with a clear message, not per event.

    Raises:
        TemplateError: the spec names no app (the same message as ``agentstream serve``).
    """
    from agentstream.apps import UnknownApp, load_app

    try:
        load_app(spec)
    except UnknownApp as exc:
        raise TemplateError(str(exc)) from None


def app_stack(spec: str, *, region: str = "us-east-1", cwd: Path | None = None) -> Stack:
    """The shipped template's stack serving ``spec``, its functions' code in ``cwd``."""
    folder = (cwd or Path.cwd()).resolve()
    spec = absolute_spec(spec, folder)
    check_app(spec)
    stack = load_stack(
        shipped_template(), stack_name=STACK_NAME, region=region, parameters={"App": spec}
    )
    for lid, fn in stack.functions.items():
        stack.functions[lid] = dataclasses.replace(fn, code_dir=folder)
    return stack


def load_target(target: str | Path, *, region: str = "us-east-1") -> Stack:
    """The stack for ``agentstream emulate TARGET``: a template file, or an app spec."""
    if isinstance(target, Path) or is_template(target):
        path = Path(target)
        if not path.is_file():
            raise TemplateError(f"{path} is not a file")
        return load_stack(path, region=region)
    return app_stack(target, region=region)
