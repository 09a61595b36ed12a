"""Read Server-Sent Events from an httpx response (a test helper for the SSE doors)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SSE:
    """One event: its ``id:`` (or None), ``event:`` name and ``data:`` text."""

    id: str | None
    event: str
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


async def events(response: httpx.Response) -> AsyncIterator[SSE]:
    """The events of a streaming response, in order, comments skipped."""
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields: dict[str, list[str]] = {}
            for line in block.split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
            if "data" in fields:
                yield SSE(
                    fields.get("id", [None])[0],
                    fields.get("event", ["message"])[0],
                    "\n".join(fields["data"]),
                )
