"""A scripted title generator: five titles from the user's words, aware of earlier turns.

Deterministic, so tests can assert whole frames; it reads the conversation Strands hands the
model, so a follow-up ("make them shorter") visibly builds on the first request.
"""

from __future__ import annotations

import re
from typing import Any

_WORDS = re.compile(r"[A-Za-z0-9']+")
_STOP = frozenset(
    "a an the and or of for to in on with about my our your is are be it this that "
    "i we you me us make them more some titles title please want need blog post article video "
    "talk podcast".split()
)


def _texts(messages: list[dict[str, Any]], role: str) -> list[str]:
    out = []
    for message in messages:
        if message.get("role") == role:
            text = "\n".join(b["text"] for b in message.get("content") or [] if "text" in b)
            if text:
                out.append(text)
    return out


def topic(text: str) -> str:
    """The main words of ``text``, title-cased (at most four)."""
    words = [w for w in _WORDS.findall(text) if w.lower() not in _STOP]
    return " ".join(w.capitalize() for w in words[:4]) or "Your Idea"


def scripted_reply(messages: list[dict[str, Any]]) -> str:
    """The answer to the conversation's last user message."""
    asked = _texts(messages, "user")
    subject = topic(asked[0] if asked else "")
    latest = asked[-1] if asked else ""
    lines = [
        f"1. {subject}: The Complete Guide",
        f"2. Why {subject} Matters Now",
        f"3. {subject} in Five Minutes",
        f"4. The Quiet Power of {subject}",
        f"5. {subject}, Explained",
    ]
    if len(asked) > 1:
        angle = (
            f'Building on your first request ({subject}), I took "{latest}" into account '
            f"across {len(asked) - 1} earlier turn(s)."
        )
    else:
        angle = f"These aim for clear, searchable titles about {subject}."
    return "\n".join(lines) + "\n" + angle


def scripted_turns() -> list[Any]:
    """One reactive turn answering whatever the conversation is."""

    def turn(
        messages: list[dict[str, Any]], tool_specs: Any, tool_choice: Any
    ) -> list[dict[str, Any]]:
        return [{"text": scripted_reply(messages)}]

    return [turn]
