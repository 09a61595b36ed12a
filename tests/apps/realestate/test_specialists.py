"""The specialists: routing by query type, their tools, and the mortgage arithmetic."""

from __future__ import annotations

from agentstream.apps.realestate.specialists import (
    SPECIALISTS,
    monthly_payment,
    mortgage_payment,
    route,
    search_zoning_documents,
)
from agentstream.models import create_model


def test_routing_and_mortgage_math() -> None:
    """query_type aliases route to specialists; payments match the annuity formula."""
    assert route("zoning").name == "zoning" and route("permits").name == "building_codes"
    assert route("anything").name == "general"
    assert round(monthly_payment(300_000, 6.0, 30), 2) == 1798.65
    assert monthly_payment(1200, 0, 1) == 100


def test_every_alias_routes_to_an_existing_specialist() -> None:
    """Each alias names a real specialist; the specialists route to themselves."""
    assert route("zone").name == "zoning" and route("codes").name == "building_codes"
    assert all(route(name) is specialist for name, specialist in SPECIALISTS.items())


def test_zero_rate_divides_evenly_and_a_zero_year_term_is_one_month() -> None:
    """Zero interest divides evenly; a zero-year term counts as one month, not a division by 0."""
    assert monthly_payment(1200, 0, 0) == 1200
    assert round(monthly_payment(12_000, 12.0, 1) * 12, 2) > 12_000


def test_the_mortgage_tool_answers_in_words() -> None:
    """The tool's text names the payment, principal, rate and term."""
    text = mortgage_payment(principal=300_000, annual_rate_pct=6.0, years=30)
    assert text == "Monthly payment: $1,798.65 for $300,000 at 6% over 30 years."


def test_the_search_tool_returns_cited_zoning_passages() -> None:
    """The zoning search tool quotes numbered zoning passages."""
    text = search_zoning_documents(query="rear setback for houses")
    assert text.startswith("[1] zoning-") and "\n\n[2] zoning-" in text


def test_build_without_search_leaves_out_only_the_search_tool() -> None:
    """search=False drops the specialist's own search tool and keeps its others."""
    general = SPECIALISTS["general"]
    model = create_model("scripted")
    assert sorted(general.build(model).tool_names) == ["mortgage_payment", "search_documents"]
    assert general.build(model, search=False).tool_names == ["mortgage_payment"]
    assert SPECIALISTS["zoning"].build(model, search=False).tool_names == []
