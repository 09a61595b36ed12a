"""Which retrieved passages an answer cites: its ``[n]`` marks and the sentences it quotes.

A small model's ``[n]`` is only a claim: a number that names no retrieved passage is dropped, so
every citation shown is a passage the search really returned. A passage whose sentence the answer
repeats word for word counts as cited too (small models quote without marking). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentstream.apps.realestate.documents import Hit, split_sentences

_MARK = re.compile(r"\[(\d{1,3})\]")
_WORD = re.compile(r"[a-z0-9]+")
MIN_QUOTE_WORDS = 6
"""Shorter overlaps ("in the NR zone") are common phrases, not quotations."""


@dataclass(frozen=True, slots=True)
class Citation:
    """Passage ``number`` (1-based, as numbered in the prompt) and the hit it names."""

    number: int
    hit: Hit

    def to_dict(self) -> dict[str, Any]:
        """``{n, doc, section}`` for the result."""
        return {"n": self.number, "doc": self.hit.passage.doc, "section": self.hit.passage.section}


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _quotes(answer: str, hit: Hit) -> bool:
    said = f" {_words(answer)} "
    for sentence in split_sentences(hit.passage.text):
        words = _words(sentence).split()
        for start in range(max(1, len(words) - MIN_QUOTE_WORDS + 1)):
            run = words[start : start + MIN_QUOTE_WORDS]
            if len(run) == MIN_QUOTE_WORDS and f" {' '.join(run)} " in said:
                return True
    return False


def cited(answer: str, hits: Sequence[Hit]) -> list[Citation]:
    """The passages of ``hits`` that ``answer`` cites, by number."""
    numbers = {int(mark) for mark in _MARK.findall(answer) if 1 <= int(mark) <= len(hits)}
    numbers |= {n for n, hit in enumerate(hits, 1) if _quotes(answer, hit)}
    return [Citation(n, hits[n - 1]) for n in sorted(numbers)]


def sources_line(citations: Sequence[Citation]) -> str:
    """``Sources: [1] doc § section; [2] …`` (empty when nothing is cited)."""
    if not citations:
        return ""
    return "Sources: " + "; ".join(f"[{c.number}] {c.hit.passage.source}" for c in citations)
