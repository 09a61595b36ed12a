"""The terminal printer: text, tools, prompt progress and record fields as they arrive."""

from __future__ import annotations

import io

from rich.console import Console

from agentstream.cli_render import TerminalPrinter
from agentstream.protocol.events import (
    Custom,
    RunFinished,
    StateDelta,
    StateSnapshot,
    TextMessageChunk,
)


def printed(*events: object) -> str:
    out = io.StringIO()
    printer = TerminalPrinter(Console(file=out, width=120, color_system=None))
    for event in events:
        printer.deliver(event)  # type: ignore[arg-type]
    return out.getvalue()


def test_prompt_progress_is_shown_with_its_counts() -> None:
    """While the model reads its prompt the CLI says how far it got, and what came from cache."""
    text = printed(
        Custom(name="progress", value={"stage": "prompt", "processed": 0, "total": 956}),
        Custom(
            name="progress",
            value={"stage": "prompt", "processed": 858, "total": 956, "cached": 730},
        ),
    )
    assert "reading the prompt: 0/956 tokens\n" in text
    assert "reading the prompt: 858/956 tokens (730 from cache)" in text


def test_each_record_field_is_named_once_as_it_starts() -> None:
    """The record's fields are announced in the order they begin, never twice."""
    text = printed(
        TextMessageChunk(delta="Thinking"),
        StateSnapshot(snapshot={"statement": "It"}),
        StateDelta(delta=[{"op": "replace", "path": "/statement", "value": "It will"}]),
        StateDelta(delta=[{"op": "add", "path": "/date", "value": "2025"}]),
        StateDelta(delta=[{"op": "replace", "path": "/date", "value": "2025-01-01"}]),
        RunFinished(result={"statement": "It will", "date": "2025-01-01"}),
    )
    assert text.count("✎ statement") == 1 and text.count("✎ date") == 1
    assert text.index("Thinking\n") < text.index("✎ statement") < text.index("✎ date")
