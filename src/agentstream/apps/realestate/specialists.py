"""The specialist agents the orchestrator routes to, and their tools.

Each specialist is a Strands agent with its own prompt and tools. The zoning and building-code
specialists answer from the shipped documents (retrieval with a local embedding model); the
general one can search everything and compute loan payments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strands import tool

from agentstream.apps.realestate import prompts
from agentstream.apps.realestate.documents import default_index, format_hits

SEARCH_LIMIT = 3


@tool
def search_zoning_documents(query: str) -> str:
    """Search Cedar Bay's zoning code for passages about a question.

    Args:
        query: What to look for, in plain words (e.g. "rear setback for houses").
    """
    return format_hits(default_index().search(query, "zoning", SEARCH_LIMIT))


@tool
def search_building_codes(query: str) -> str:
    """Search Cedar Bay's building code summaries for passages about a question.

    Args:
        query: What to look for, in plain words (e.g. "exits for a restaurant").
    """
    return format_hits(default_index().search(query, "building_codes", SEARCH_LIMIT))


@tool
def search_documents(query: str) -> str:
    """Search all of Cedar Bay's planning documents (zoning and building codes).

    Args:
        query: What to look for, in plain words.
    """
    return format_hits(default_index().search(query, None, SEARCH_LIMIT))


def monthly_payment(principal: float, annual_rate_pct: float, years: int) -> float:
    """The fixed monthly payment that repays ``principal`` over ``years``."""
    months = max(1, int(years) * 12)
    rate = annual_rate_pct / 100 / 12
    if rate == 0:
        return principal / months
    return principal * rate / (1 - (1 + rate) ** -months)


@tool
def mortgage_payment(principal: float, annual_rate_pct: float, years: int) -> str:
    """Compute the monthly payment of a fixed-rate mortgage.

    Args:
        principal: The amount borrowed, in dollars.
        annual_rate_pct: The yearly interest rate in percent (e.g. 6.5).
        years: The term in years (e.g. 30).
    """
    payment = monthly_payment(principal, annual_rate_pct, years)
    return (
        f"Monthly payment: ${payment:,.2f} for ${principal:,.0f} at {annual_rate_pct:g}% "
        f"over {years} years."
    )


@dataclass(frozen=True)
class Specialist:
    """One agent the orchestrator can route to."""

    name: str
    label: str
    system_prompt: str
    category: str | None
    """Which documents its questions are searched in up front (None: all of them)."""
    tools: Callable[[], list[Any]]
    search_tool: str

    def build(self, model: Any, *, search: bool = True) -> Any:
        """A fresh Strands agent for one question; ``search=False`` leaves out the search tool.

        When the passages the question needs are already in the prompt, another search only
        costs a model step and a prompt re-read (seconds of silence on a small CPU model).
        """
        from strands import Agent

        tools = [t for t in self.tools() if search or t.tool_name != self.search_tool]
        return Agent(
            model=model, tools=tools, system_prompt=self.system_prompt, callback_handler=None
        )


SPECIALISTS: dict[str, Specialist] = {
    "zoning": Specialist(
        "zoning",
        "zoning agent",
        prompts.ZONING,
        "zoning",
        lambda: [search_zoning_documents],
        "search_zoning_documents",
    ),
    "building_codes": Specialist(
        "building_codes",
        "building-code agent",
        prompts.BUILDING_CODES,
        "building_codes",
        lambda: [search_building_codes],
        "search_building_codes",
    ),
    "general": Specialist(
        "general",
        "general agent",
        prompts.GENERAL,
        None,
        lambda: [search_documents, mortgage_payment],
        "search_documents",
    ),
}

ALIASES = {
    "zone": "zoning",
    "zoning_code": "zoning",
    "building_code": "building_codes",
    "building": "building_codes",
    "codes": "building_codes",
    "permits": "building_codes",
}


def route(query_type: str) -> Specialist:
    """The specialist for ``query_type``; unknown types go to the general agent."""
    return SPECIALISTS.get(ALIASES.get(query_type, query_type), SPECIALISTS["general"])
