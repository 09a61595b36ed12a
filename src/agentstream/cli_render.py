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

    def _line(self, markup: str | None, force: bool = False) -> None:
        if self._mid_line:
            self.console.out("")
            self._mid_line = False
        if markup is not None and (force or not self.quiet):
            self.console.print(markup, highlight=False)
