"""A scripted CalledIt agent: real tool calls, plausible text, a record built from tool results.

It lets the whole stack (gateway, runs, tools, dialect, UI) run deterministically and fast, with
the tools really executed by Strands.
"""

from __future__ import annotations

import json
from typing import Any

from agentstream.apps.calledit.schemas import MakeCall


def _tool_results(messages: list[dict[str, Any]]) -> dict[str, Any]:
    names: dict[str, str] = {}
    results: dict[str, Any] = {}
    for message in messages:
        for block in message.get("content") or []:
            if "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
            if "toolResult" in block:
                result = block["toolResult"]
                text = "".join(c.get("text", "") for c in result.get("content") or [])
                try:
                    results[names.get(result["toolUseId"], "")] = json.loads(text)
                except ValueError:
                    results[names.get(result["toolUseId"], "")] = text
    return results


def _record(request: MakeCall, results: dict[str, Any]) -> dict[str, Any]:
    now = results.get("current_time") or {}
    parsed = results.get("parse_relative_date") or {}
    date = (parsed.get("date") if isinstance(parsed, dict) else None) or now.get("date")
    statement = request.prompt.rstrip(".") + "."
    return {
        "prediction_statement": statement,
        "verification_date": date or "1970-01-01",
        "verification_method": {
            "source": [
                "Reputable news coverage of the subject",
                "Official data from the source named in the call",
            ],
            "criteria": [f"The outcome described holds true: {statement}"],
            "steps": [
                f"On {date}, look up the outcome in the sources",
                "Compare it with the criteria",
                "Record the verdict",
            ],
        },
        "initial_status": "pending",
    }


def scripted_turns(request: MakeCall) -> list[Any]:
    """One reactive turn function covering the whole conversation."""

    def turn(
        messages: list[dict[str, Any]], tool_specs: Any, tool_choice: Any
    ) -> list[dict[str, Any]]:
        results = _tool_results(messages)
        if not results:
            return [
                {"text": "Let me check today's date and work out when this call can be verified. "},
                {"tool": "current_time", "input": {"timezone": request.timezone}},
                {
                    "tool": "parse_relative_date",
                    "input": {"text": request.prompt, "timezone": request.timezone},
                },
            ]
        record = _record(request, results)
        return [
            {
                "text": f"The call can be checked on {record['verification_date']}. "
                "I'll name sources, measurable criteria and the steps to verify it."
            },
            {"tool": "PredictionRecord", "input": record},
        ]

    return [turn]
