"""Log output for ``agentstream serve``: the usual text lines, or one JSON object per line.

Our log lines put their ids first (``run=%s seq=%d | event sent``). The JSON format lifts those
``key=value`` pairs into fields of the object, so a collector (CloudWatch, Loki, Elasticsearch)
can filter on ``run`` or ``conn`` without parsing the text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

# "run=abc seq=3 | what happened": the ids before the bar, the words after it.
_IDS = re.compile(r"^((?:[a-z_]+=\S*\s+)+)\|\s?(.*)$", re.DOTALL)


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record: time, level, logger, message, and the line's ids."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (ids from a ``key=value ... |`` prefix become fields)."""
        message = record.getMessage()
        out: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        match = _IDS.match(message)
        if match is not None:
            for pair in match.group(1).split():
                key, _, value = pair.partition("=")
                out.setdefault(key, value)
            message = match.group(2)
        out["message"] = message
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure(level: str = "info", fmt: str = "text") -> None:
    """Send the root logger's records to stderr at ``level`` in ``fmt`` (text or json).

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
