"""What the strategy builder tells the model, and how earlier turns are written back to it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

SYSTEM_PROMPT = """\
You are a crypto strategy builder. The user describes their capital, target return and appetite
for risk; you design a strategy and explain it.

Always answer in exactly two tagged blocks, in this order:
<user_message>
A friendly explanation for the chat, 2 to 4 sentences.
</user_message>
<backend>
One JSON object for the strategy builder UI, with exactly these keys:
"account": {"workspace": "...", "section": "My Strategies"},
"flowchart": {"nodes": [{"id": "n1", "label": "...", "type": "entry|condition|action|exit"}],
              "edges": [{"source": "n1", "target": "n2", "label": ""}]},
"degen_class": {"selected": "High" or "Medium" or "Low"},
"strategy_metrics": {"impact_monthly_return_delta_pct": <number>,
                     "estimated_capital_required_usd": <number>},
"guardrails": {"enabled": [{"name": "...", "status": "active", "value": "..."}]}
</backend>

Conservative requests are "Low", balanced ones "Medium", aggressive ones "High". Every edge joins
two node ids that exist. Write nothing outside the two blocks.

Example. User: "I have $1000 and want 7% a month, I can take risk."
<user_message>
I've built a high-return strategy for your $1,000 targeting 7% a month. It is high risk, so a 5%
stop-loss limits the downside.
</user_message>
<backend>
{"account": {"workspace": "Vibe Water Associates", "section": "My Strategies"}, "flowchart":
{"nodes": [{"id": "n1", "label": "Scan DeFi tokens", "type": "entry"}, {"id": "n2", "label":
"Momentum above threshold?", "type": "condition"}, {"id": "n3", "label": "Buy position",
"type": "action"}, {"id": "n4", "label": "Exit at 5% stop-loss", "type": "exit"}], "edges":
[{"source": "n1", "target": "n2", "label": ""}, {"source": "n2", "target": "n3", "label": "yes"},
{"source": "n3", "target": "n4", "label": ""}]}, "degen_class": {"selected": "High"},
"strategy_metrics": {"impact_monthly_return_delta_pct": 7.0, "estimated_capital_required_usd":
1000}, "guardrails": {"enabled": [{"name": "Stop-loss", "status": "active", "value": "5%"}]}}
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
