"""The date tools CalledIt's agent calls: today's date, and the deadline a prediction names.

Each tool is a thin JSON wrapper over a plain function (``current_time_impl``,
``parse_relative_date_impl``) that returns a dict, so Python callers and tests need no agent. Both
read the time from :func:`agentstream.clock.now`, so ``AGENTSTREAM_NOW`` or
:func:`agentstream.clock.override` pins them. An unknown timezone raises
:class:`agentstream.clock.BadTimezone` (a ``ValueError``); Strands turns that into an error
result the model can read and correct.
"""

from __future__ import annotations

import json
from typing import TypedDict

from strands import tool
from strands.types.tools import AgentTool

from agentstream import clock
from agentstream.agents.dates import resolve_relative_date

__all__ = [
    "CALLEDIT_TOOLS",
    "CurrentTime",
    "current_time",
    "current_time_impl",
    "parse_relative_date",
    "parse_relative_date_impl",
]


class CurrentTime(TypedDict):
    """What :func:`current_time_impl` returns."""

    timezone: str
    iso: str
    date: str
    weekday: str


def current_time_impl(timezone: str = "UTC") -> CurrentTime:
    """Now in ``timezone``, honouring the clock override.

    Args:
        timezone: An IANA timezone name; empty means UTC.

    Returns:
        The timezone, the ISO 8601 timestamp (to the second), the date and the weekday name.

    Raises:
        clock.BadTimezone: ``timezone`` is not an IANA name.
    """
    now = clock.now(timezone)
    return {
        "timezone": timezone or "UTC",
        "iso": now.replace(microsecond=0).isoformat(),
        "date": now.date().isoformat(),
        "weekday": now.strftime("%A"),
    }


def parse_relative_date_impl(text: str, timezone: str = "UTC") -> dict[str, str | None]:
    """The deadline ``text`` names, resolved against now in ``timezone``.

    Args:
        text: A prediction or date phrase, such as "Bitcoin will pass $100k by March 2025".
        timezone: The user's IANA timezone name; empty means UTC.

    Returns:
        ``{"date", "phrase", "rule"}`` from :class:`~agentstream.agents.dates.DateResolution`, or
        ``{"date": None, "reason": ...}`` when ``text`` names no date.

    Raises:
        clock.BadTimezone: ``timezone`` is not an IANA name.
    """
    resolution = resolve_relative_date(text, clock.now(timezone))
    if resolution is None:
        return {"date": None, "reason": f"no relative date found in {text!r}"}
    return dict(resolution.to_dict())


@tool
def current_time(timezone: str = "UTC") -> str:
    """Get the current date and time in a timezone. Call this first to learn today's date.

    Args:
        timezone: IANA timezone name of the user, for example "America/New_York" or
            "Europe/Paris". Defaults to "UTC".

    Returns:
        A JSON object: {"timezone", "iso" (full ISO 8601 timestamp with offset), "date"
        (YYYY-MM-DD), "weekday" (for example "Wednesday")}.
    """
    return json.dumps(current_time_impl(timezone))


@tool
def parse_relative_date(text: str, timezone: str = "UTC") -> str:
    """Resolve the date or period a prediction mentions to its verification date.

    Understands phrases such as "by March 2025", "next Friday", "in 3 weeks", "by the end of
    the year", "before Christmas", "Q2 2026" and "tomorrow". A deadline resolves to the last day
    it allows ("by March 2025" gives 2025-03-31), and the date is never before today.

    Args:
        text: The prediction text, or just its date phrase, for example "The S&P 500 will
            reach 6000 points by March 2025".
        timezone: IANA timezone name of the user, for example "America/New_York". Defaults to
            "UTC".

    Returns:
        A JSON object: {"date" (YYYY-MM-DD), "phrase" (the words matched), "rule" (how the date
        was chosen)}, or {"date": null, "reason"} when the text names no date.
    """
    return json.dumps(parse_relative_date_impl(text, timezone))


CALLEDIT_TOOLS: list[AgentTool] = [current_time, parse_relative_date]
