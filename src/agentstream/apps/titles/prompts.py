"""What the title generator tells the model, and the conversation as Strands messages.

The system prompt is the fixed prefix of every request, so llama.cpp keeps it in its KV cache;
it is kept short because a cold start reads it at a few dozen tokens a second on a small CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SYSTEM_PROMPT = """\
You write titles. The user describes a piece (article, video, talk) or asks to change earlier
titles; build on the conversation. Reply with five short, specific titles as a numbered list,
then one sentence on the angle they share.

Example for "A blog post about keeping sourdough starter alive while travelling":
1. Your Starter Can Travel Too
2. Sourdough on the Road
3. The Frequent Flyer's Starter Guide
4. Pack the Flour: Starter Care Away From Home
5. Don't Let Your Starter Die on Vacation
These lean practical and friendly, for bakers who travel.
"""


def history_messages(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier ``{role, content}`` turns as Strands messages, alternating user/assistant.

    Consecutive turns of one role are merged, a leading assistant turn is dropped, and a trailing
    user turn (one whose answer never came) is dropped: the new input follows it.
    """
    messages: list[dict[str, Any]] = []
    for turn in turns:
        role = "assistant" if turn.get("role") == "assistant" else "user"
        text = str(turn.get("content") or "").strip()
        if not text:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"][0]["text"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": [{"text": text}]})
    if messages and messages[0]["role"] == "assistant":
        messages.pop(0)
    if messages and messages[-1]["role"] == "user":
        messages.pop()
    return messages
