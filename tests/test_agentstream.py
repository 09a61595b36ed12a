"""The public API of ``import agentstream``: its names are pinned, and importing it stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import agentstream

PUBLIC = {
    "AgentApp",
    "AgentRun",
    "AgentstreamError",
    "AppError",
    "BadRequest",
    "Custom",
    "Event",
    "ReplyContext",
    "RouteContext",
    "RunError",
    "RunFinished",
    "RunStarted",
    "Settings",
    "StateDelta",
    "StateSnapshot",
    "StepFinished",
    "StepStarted",
    "TextMessageChunk",
    "TokenLimit",
    "ToolCallChunk",
    "ToolCallResult",
    "__version__",
    "agent_model",
    "create_app",
    "mount",
}

SRC = Path(__file__).resolve().parent.parent / "src"


def test_public_names_are_pinned() -> None:
    """__all__ lists exactly the public names: a change to the API is made on purpose."""
    assert set(agentstream.__all__) == PUBLIC
    assert len(agentstream.__all__) == len(PUBLIC)


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    """Each public name (lazy ones included) is importable and documented."""
    for name in PUBLIC - {"__version__"}:
        value = getattr(agentstream, name)
        assert value.__doc__, name


def test_lazy_names_are_the_real_objects() -> None:
    """The lazily loaded names are the internal modules' own objects, not copies."""
    from agentstream.agents.invoke import AgentRun
    from agentstream.gateway.app import create_app

    assert agentstream.AgentRun is AgentRun
    assert agentstream.create_app is create_app


def test_an_unknown_name_is_an_attribute_error() -> None:
    """Reading a name the package does not have raises AttributeError (hasattr works)."""
    assert not hasattr(agentstream, "Gateway")


def test_import_is_light() -> None:
    """``import agentstream`` loads no Strands, llama.cpp, boto3 or Starlette."""
    code = (
        "import sys, agentstream\n"
        "heavy = ('strands', 'xllamacpp', 'boto3', 'botocore', 'starlette', 'uvicorn')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
