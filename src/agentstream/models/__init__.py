"""Model providers, chosen by name with ``--model`` / ``AGENTSTREAM_MODEL``.

- ``local`` (default) or ``qwen``: Qwen2.5-Coder-1.5B-Instruct in-process through llama.cpp;
- ``gemma``: Gemma 3 270M in-process (small and fast; for tests, not for answers people read);
- a path ending in ``.gguf``: that file through llama.cpp;
- ``scripted`` (``scripted:0.02`` adds 20 ms per delta): deterministic streams for tests and demos;
- ``bedrock[:MODEL_ID]``: Amazon Bedrock through Strands' ``BedrockModel``;
- ``openai:MODEL@BASE_URL``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server).

Vendor SDKs are imported only when their model is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from agentstream.errors import BadRequest

LOCAL_ALIASES = {"local": "qwen", "qwen": "qwen", "gemma": "gemma"}


class UnknownModel(BadRequest):
    """No provider answers to the requested name."""

    code = "unknown_model"


def _scripted(spec: str, scripted: Any) -> Any:
    from agentstream.models.scripted import ScriptedModel

    _, _, delay = spec.partition(":")
    # ``scripted`` is a list of turns, or a factory that builds one (turns may be callables too).
    turns = scripted() if callable(scripted) else scripted
    if not turns:
        turns = [
            [
                {
                    "text": "This is the scripted model. Start the server with a real model "
                    "(--model local) for real answers."
                }
            ]
        ]
    return ScriptedModel(
        turns, delay=float(delay or os.environ.get("AGENTSTREAM_SCRIPTED_DELAY", 0))
    )


def create_model(spec: str, *, scripted: Any = None) -> Any:
    """A new Strands ``Model`` for ``spec`` (see the module docstring)."""
    name, _, rest = spec.partition(":")
    if name == "scripted":
        return _scripted(spec, scripted)
    if name in LOCAL_ALIASES or spec.endswith(".gguf"):
        from agentstream.models.local import LocalModel

        return LocalModel(LOCAL_ALIASES.get(spec, spec))
    if name == "bedrock":
        from agentstream.models.bedrock import create_bedrock

        return create_bedrock(rest)
    if name == "openai":
        from strands.models.openai import OpenAIModel

        model_id, _, base_url = rest.partition("@")
        client_args = {"base_url": base_url} if base_url else {}
        client_args["api_key"] = os.environ.get("OPENAI_API_KEY", "not-needed")
        return OpenAIModel(client_args=client_args, model_id=model_id or "default")
    raise UnknownModel(
        f"unknown model {spec!r} "
        "(use local, qwen, gemma, a .gguf path, scripted, bedrock or openai)"
    )
