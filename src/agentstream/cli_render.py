"""Print a run's events in a terminal as they arrive."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from agentstream.protocol.events import (
    Custom,
    Event,
    RunError,
    RunFinished,
    StateDelta,
    StateSnapshot,
    TextMessageChunk,
    ToolCallChunk,
    ToolCallResult,
)


class TerminalPrinter:
    """A run subscriber that writes text as it streams and tools as they run."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        """Write to ``console``; ``quiet`` prints errors only."""
        self.console = console
        self.quiet = quiet
        self.result: dict[str, Any] | None = None
        self._mid_line = False
        self._fields: set[str] = set()

    def deliver(self, event: Event) -> None:
        """Show one event."""
        match event:
            case RunFinished(result=result):
                self.result = result
                self._line(None)
                if not self.quiet:
                    self.console.print_json(json.dumps(result))
            case RunError(message=message, code=code):
                self._line(f"[red]error ({code}):[/red] {message}", force=True)
            case _ if self.quiet:
                pass
            case TextMessageChunk(delta=delta):
                self.console.out(delta, end="", highlight=False)
                self._mid_line = not delta.endswith("\n")
            case ToolCallChunk(tool_call_name=name, delta=arguments):
                self._line(f"[cyan]⚙ {name}[/cyan] {arguments}")
            case ToolCallResult(tool_call_name=name, content=content):
                self._line(f"[dim]  ↳ {name}: {content[:200]}[/dim]")
            case Custom(name="status", value=value):
                self._line(f"[dim]· {value}[/dim]")
            case Custom(name="progress", value=dict() as counts) if counts.get("stage") == "prompt":
                self._line(f"[dim]· {_prompt_progress(counts)}[/dim]")
            case StateSnapshot(snapshot=dict() as snapshot):
                self._fields_seen(snapshot)
            case StateDelta(delta=ops):
                self._fields_seen({str(op.get("path", "")).split("/")[1:2][0]: 1 for op in ops})

    def _fields_seen(self, fields: dict[str, Any]) -> None:
        """Name each record field once, as the model starts writing it."""
        for name in fields:
            if name and name not in self._fields:
                self._fields.add(name)
                self._line(f"[green]✎ {name}[/green]")

    def _line(self, markup: str | None, force: bool = False) -> None:
        if self._mid_line:
            self.console.out("")
            self._mid_line = False
        if markup is not None and (force or not self.quiet):
            self.console.print(markup, highlight=False)


def _prompt_progress(counts: dict[str, Any]) -> str:
    """``reading the prompt: 384/956 tokens (730 from cache)``."""
    text = f"reading the prompt: {counts.get('processed', 0)}/{counts.get('total', 0)} tokens"
    cached = counts.get("cached", 0)
    return f"{text} ({cached} from cache)" if cached else text
