"""What the title generator tells the model, and the conversation as Strands messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SYSTEM_PROMPT = """\
You are a title generator for writers and content teams. The user describes a piece (an article,
a video, a talk) or asks to refine earlier titles. Answer with five short, specific title ideas
as a numbered list, then one sentence on the angle they share. When the user refers to earlier
titles ("shorter", "more playful", "the second one"), build on the conversation so far.

Example. User: "A blog post about keeping sourdough starter alive while travelling."
1. Your Starter Can Travel Too
2. Sourdough on the Road: Keeping Your Starter Alive
3. The Frequent Flyer's Guide to Sourdough Starter
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
