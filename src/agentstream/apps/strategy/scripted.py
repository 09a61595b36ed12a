"""A scripted strategy builder: a deterministic, tagged answer built from the user's words.

It reads capital (``$5000``, ``5k``), a monthly return (``3%``) and risk words (conservative,
aggressive) from the latest user turn, falling back to the previous strategy for what the turn
leaves out, so the page, the parser and the dialect can be exercised without a real model.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CAPITAL = re.compile(
    r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*(k\b)?|(\d[\d,]*(?:\.\d+)?)\s*(k\b)?\s*(?:usd|dollars)",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_LOW = ("conservative", "safe", "low risk", "low-risk", "careful")
_HIGH = ("aggressive", "degen", "high risk", "high-risk", "take risk", "yolo")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            texts = [block["text"] for block in message.get("content") or [] if "text" in block]
            if texts:
                return "\n".join(texts)
    return ""


def _capital(text: str) -> float | None:
    match = _CAPITAL.search(text)
    if match is None:
        return None
    digits = (match.group(1) or match.group(3) or "0").replace(",", "")
    thousands = match.group(2) or match.group(4)
    return float(digits) * (1000 if thousands else 1)


def _risk(text: str, monthly_pct: float) -> str:
    lowered = text.lower()
    if any(word in lowered for word in _LOW):
        return "Low"
    if any(word in lowered for word in _HIGH) or monthly_pct >= 6:
        return "High"
    return "Medium" if monthly_pct >= 3 else "Low"


_STOP_LOSS = {"Low": "2%", "Medium": "3%", "High": "5%"}


def build_strategy(text: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The strategy the scripted builder answers ``text`` with."""
    metrics = (previous or {}).get("strategy_metrics") or {}
    capital = _capital(text) or float(metrics.get("estimated_capital_required_usd") or 1000)
    percent = _PERCENT.search(text)
    monthly = (
        float(percent.group(1))
        if percent
        else float(metrics.get("impact_monthly_return_delta_pct") or 3)
    )
    risk = _risk(text, monthly)
    return {
        "account": {"workspace": "Vibe Water Associates", "section": "My Strategies"},
        "flowchart": {
            "nodes": [
                {"id": "n1", "label": "Scan the market", "type": "entry"},
                {"id": "n2", "label": f"Signal fits {risk.lower()} risk?", "type": "condition"},
                {"id": "n3", "label": "Open position", "type": "action"},
                {"id": "n4", "label": f"Exit at {_STOP_LOSS[risk]} stop-loss", "type": "exit"},
            ],
            "edges": [
                {"source": "n1", "target": "n2", "label": ""},
                {"source": "n2", "target": "n3", "label": "yes"},
                {"source": "n3", "target": "n4", "label": ""},
            ],
        },
        "degen_class": {"selected": risk},
        "strategy_metrics": {
            "impact_monthly_return_delta_pct": monthly,
            "estimated_capital_required_usd": capital,
        },
        "guardrails": {
            "enabled": [
                {"name": "Stop-loss", "status": "active", "value": _STOP_LOSS[risk]},
                {"name": "Max position size", "status": "active", "value": "25%"},
            ]
        },
    }


def scripted_answer(text: str, previous: dict[str, Any] | None) -> str:
    """The whole tagged answer for ``text``."""
    strategy = build_strategy(text, previous)
    metrics, risk = strategy["strategy_metrics"], strategy["degen_class"]["selected"]
    message = (
        f"I've built a {risk.lower()}-risk strategy for your "
        f"${metrics['estimated_capital_required_usd']:,.0f}, targeting "
        f"{metrics['impact_monthly_return_delta_pct']:g}% a month. A "
        f"{_STOP_LOSS[risk]} stop-loss limits the downside."
    )
    return (
        f"<user_message>\n{message}\n</user_message>\n\n"
        f"<backend>\n{json.dumps(strategy, indent=2)}\n</backend>"
    )


def scripted_turns(previous: dict[str, Any] | None) -> list[Any]:
    """One reactive turn that answers the latest user message."""

    def turn(
        messages: list[dict[str, Any]], tool_specs: Any, tool_choice: Any
    ) -> list[dict[str, Any]]:
        return [{"text": scripted_answer(_last_user_text(messages), previous)}]

    return [turn]
