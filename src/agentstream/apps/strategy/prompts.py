"""What the strategy builder tells the model, and how earlier turns are written back to it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

SYSTEM_PROMPT = """\
You are a crypto strategy builder. Answer the user's capital, monthly target and risk appetite
with two blocks, in this order: first the chat message (2 or 3 sentences: what you built and how
it limits losses), then the strategy JSON for the builder UI, on one line. Risk is "Low" for
conservative, "Medium" for balanced, "High" for aggressive requests. Node types are entry,
condition, action, exit; edges join node ids that exist. Write nothing after </backend>.

Example for "I have $1000 and want 7% a month, I can take risk":
<user_message>
Your $1,000 goes into momentum trades aiming for 7% a month. That is high risk, so every
position has a 5% stop-loss.
</user_message>
<backend>
{"account": {"workspace": "Vibe Water Associates", "section": "My Strategies"}, "flowchart": \
{"nodes": [{"id": "n1", "label": "Scan tokens", "type": "entry"}, {"id": "n2", "label": \
"Momentum up?", "type": "condition"}, {"id": "n3", "label": "Buy", "type": "action"}, {"id": \
"n4", "label": "Sell at stop-loss", "type": "exit"}], "edges": [{"source": "n1", "target": "n2", \
"label": ""}, {"source": "n2", "target": "n3", "label": "yes"}, {"source": "n3", "target": "n4", \
"label": ""}]}, "degen_class": {"selected": "High"}, "strategy_metrics": \
{"impact_monthly_return_delta_pct": 7.0, "estimated_capital_required_usd": 1000}, "guardrails": \
{"enabled": [{"name": "Stop-loss", "status": "active", "value": "5%"}]}}
</backend>
"""


def tagged_answer(user_message: str, strategy: dict[str, Any] | None) -> str:
    """An answer in the tagged format (how earlier assistant turns are shown to the model)."""
    backend = json.dumps(strategy, ensure_ascii=False) if strategy is not None else "{}"
    return f"<user_message>\n{user_message}\n</user_message>\n<backend>\n{backend}\n</backend>"


def history_messages(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier turns (``{role, content, strategy_json?}``) as Strands messages.

    Consecutive turns of one role are merged: Strands (and Bedrock) want them alternating.
    """
    messages: list[dict[str, Any]] = []
    for turn in turns:
        role = "assistant" if turn.get("role") == "assistant" else "user"
        text = str(turn.get("content") or "")
        if role == "assistant" and isinstance(turn.get("strategy_json"), dict):
            text = tagged_answer(text, turn["strategy_json"])
        if not text.strip():
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"][0]["text"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": [{"text": text}]})
    if messages and messages[0]["role"] == "assistant":
        messages.pop(0)
    if messages and messages[-1]["role"] == "user":
        messages.pop()  # the new message is the prompt; a dangling user turn would double it
    return messages
