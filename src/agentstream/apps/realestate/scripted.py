"""A scripted specialist: it quotes the best passage in its prompt, or searches for one first.

When the orchestrator found passages, they are in the prompt and the answer quotes the first. When
it found none, the search really runs (Strands executes the tool against the shipped documents),
so the scripted answer still carries a real passage, cited, and the whole orchestrator can be
tested deterministically.
"""

from __future__ import annotations

import re
from typing import Any

from agentstream.apps.realestate.specialists import Specialist

_FIRST_HIT = re.compile(r"\[1\] (?P<source>[^\n]+)\n(?P<text>[^\n]+)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _tool_results(messages: list[dict[str, Any]]) -> list[str]:
    results = []
    for message in messages:
        for block in message.get("content") or []:
            if "toolResult" in block:
                content = block["toolResult"].get("content") or []
                results.append("".join(item.get("text", "") for item in content))
    return results


def _prompt_passages(messages: list[dict[str, Any]]) -> list[str]:
    """The user's text when the orchestrator put passages in it."""
    texts = [
        block["text"]
        for message in messages
        if message.get("role") == "user"
        for block in message.get("content") or []
        if "text" in block
    ]
    return [text for text in texts if "\n[1] " in text]


def quote(result: str) -> str:
    """An answer quoting the first two sentences of the best passage in a search result."""
    match = _FIRST_HIT.search(result)
    if match is None:
        return "I could not find this in the Cedar Bay documents."
    sentences = _SENTENCE.split(match.group("text").strip())
    return f'According to {match.group("source")} [1]: "{" ".join(sentences[:2])}"'


def scripted_turns(specialist: Specialist, question: str) -> list[Any]:
    """One reactive turn: search first, answer once the search result is back."""

    def turn(
        messages: list[dict[str, Any]], tool_specs: Any, tool_choice: Any
    ) -> list[dict[str, Any]]:
        results = _tool_results(messages) or _prompt_passages(messages)
        if not results:
            return [
                {"text": "Let me search the documents. "},
                {"tool": specialist.search_tool, "input": {"query": question}},
            ]
        return [{"text": quote(results[-1])}]

    return [turn]
