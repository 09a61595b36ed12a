"""Tests for agentstream.agents.tools: the date tools, alone and inside a real Strands agent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from strands import Agent
from strands.models import Model

from agentstream import clock
from agentstream.agents.tools import (
    CALLEDIT_TOOLS,
    current_time,
    current_time_impl,
    parse_relative_date,
    parse_relative_date_impl,
)

WEDNESDAY_10AM = "2025-01-15T10:00:00"


class ToolCallingModel(Model):
    """A fake model: its first turn calls the given tools, its second says "done"."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls = calls

    def update_config(self, **model_config: Any) -> None:
        """Nothing to configure."""

    def get_config(self) -> dict[str, Any]:
        """No configuration."""
        return {}

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        """Not used by these tests."""
        raise NotImplementedError

    async def stream(self, messages: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """Call every tool on the first turn, then end the turn with text."""
        yield {"messageStart": {"role": "assistant"}}
        if any("toolResult" in block for block in messages[-1]["content"]):
            yield {"contentBlockDelta": {"delta": {"text": "done"}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}
            return
        for index, (name, tool_input) in enumerate(self.calls):
            start = {"toolUse": {"toolUseId": f"t{index}", "name": name}}
            yield {"contentBlockStart": {"start": start}}
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(tool_input)}}}}
            yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "tool_use"}}


def tool_results(agent: Agent) -> dict[str, dict[str, Any]]:
    """Each tool result in the agent's history, by tool use id."""
    return {
        block["toolResult"]["toolUseId"]: block["toolResult"]
        for message in agent.messages
        for block in message["content"]
        if "toolResult" in block
    }


def test_current_time_honours_the_clock_override() -> None:
    """A naive override is read in the requested timezone and reported in full."""
    with clock.override(WEDNESDAY_10AM):
        payload = json.loads(current_time(timezone="America/New_York"))
    assert payload == {
        "timezone": "America/New_York",
        "iso": "2025-01-15T10:00:00-05:00",
        "date": "2025-01-15",
        "weekday": "Wednesday",
    }


def test_current_time_converts_an_aware_override() -> None:
    """04:30 UTC on Jan 16 is still Wednesday Jan 15 in New York."""
    with clock.override("2025-01-16T04:30:00+00:00"):
        payload = current_time_impl("America/New_York")
    assert (payload["date"], payload["weekday"]) == ("2025-01-15", "Wednesday")


def test_current_time_defaults_to_utc() -> None:
    """With no timezone the tool answers in UTC."""
    with clock.override("2025-01-15T10:00:00+00:00"):
        payload = current_time_impl()
    assert (payload["timezone"], payload["iso"]) == ("UTC", "2025-01-15T10:00:00+00:00")


def test_parse_relative_date_resolves_against_the_override() -> None:
    """The issue's example resolves to the end of March."""
    with clock.override(WEDNESDAY_10AM):
        payload = json.loads(
            parse_relative_date(text="S&P 500 reaches 6000 by March 2025", timezone="UTC")
        )
    assert payload == {
        "date": "2025-03-31",
        "phrase": "by March 2025",
        "rule": "end of the named month",
    }


@pytest.mark.parametrize(
    ("timezone", "expected"), [("America/New_York", "2025-01-16"), ("UTC", "2025-01-17")]
)
def test_parse_relative_date_uses_the_users_timezone(timezone: str, expected: str) -> None:
    """At 04:30 UTC on Jan 16 "tomorrow" is Jan 16 in New York but Jan 17 in UTC."""
    with clock.override("2025-01-16T04:30:00+00:00"):
        payload = parse_relative_date_impl("It snows tomorrow", timezone)
    assert payload["date"] == expected


def test_parse_relative_date_without_a_date() -> None:
    """Text with no date phrase gives a null date and a reason naming the text."""
    with clock.override(WEDNESDAY_10AM):
        payload = json.loads(parse_relative_date(text="Tesla will beat Ford"))
    assert payload["date"] is None
    assert payload["reason"] == "no relative date found in 'Tesla will beat Ford'"


@pytest.mark.parametrize(
    "call", [current_time_impl, lambda tz: parse_relative_date_impl("tomorrow", tz)]
)
def test_bad_timezone_raises_a_clear_value_error(call: Any) -> None:
    """An unknown timezone is a ValueError (clock.BadTimezone) naming it and the expected form."""
    with pytest.raises(clock.BadTimezone, match=r"unknown timezone 'Mars/Olympus'.*IANA"):
        call("Mars/Olympus")


def test_tool_specs_describe_their_parameters() -> None:
    """Strands builds each spec from the docstring: names, descriptions, types and defaults."""
    specs = {tool.tool_name: tool.tool_spec for tool in CALLEDIT_TOOLS}
    assert set(specs) == {"current_time", "parse_relative_date"}
    for spec in specs.values():
        assert "Args:" not in spec["description"]
        schema = spec["inputSchema"]["json"]
        assert schema["properties"]["timezone"]["type"] == "string"
        assert schema["properties"]["timezone"]["default"] == "UTC"
        assert "IANA" in schema["properties"]["timezone"]["description"]
    parse = specs["parse_relative_date"]
    assert "by March 2025" in parse["description"]
    assert parse["inputSchema"]["json"]["required"] == ["text"]
    assert "prediction" in parse["inputSchema"]["json"]["properties"]["text"]["description"]
    assert "required" not in specs["current_time"]["inputSchema"]["json"]


async def test_agent_runs_both_tools_under_the_override() -> None:
    """A real Strands agent executes the tools (in its worker threads) with the pinned clock."""
    calls = [
        ("current_time", {"timezone": "America/New_York"}),
        (
            "parse_relative_date",
            {"text": "Fed cuts rates next Friday", "timezone": "America/New_York"},
        ),
    ]
    agent = Agent(model=ToolCallingModel(calls), tools=CALLEDIT_TOOLS, callback_handler=None)
    with clock.override(WEDNESDAY_10AM):
        await agent.invoke_async("Make my call")
    results = tool_results(agent)
    assert [r["status"] for r in results.values()] == ["success", "success"]
    assert json.loads(results["t0"]["content"][0]["text"])["weekday"] == "Wednesday"
    assert json.loads(results["t1"]["content"][0]["text"])["date"] == "2025-01-24"


async def test_agent_gets_a_readable_error_for_a_bad_timezone() -> None:
    """Through Strands, a bad timezone becomes an error result the model can read."""
    calls = [("current_time", {"timezone": "Mars/Olympus"})]
    agent = Agent(model=ToolCallingModel(calls), tools=CALLEDIT_TOOLS, callback_handler=None)
    await agent.invoke_async("What time is it?")
    result = tool_results(agent)["t0"]
    assert result["status"] == "error"
    assert "unknown timezone 'Mars/Olympus'" in result["content"][0]["text"]
