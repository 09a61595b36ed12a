"""What the real-estate specialists are told."""

from __future__ import annotations

from collections.abc import Sequence

from agentstream.apps.realestate.documents import Hit, format_hits

_COMMON = """\
You answer questions about property in the City of Cedar Bay. Answer in 2 or 3 plain sentences.
When numbered passages from the city's documents are given, answer only from them, with their
numbers and names, and cite each passage you use by its number, like [1]. If they do not answer
the question, say so."""
# The common text comes first so consecutive questions to different specialists still share
# a cached prompt prefix; what differs goes last.

ZONING = (
    _COMMON + "\nYou are the zoning specialist: permitted uses, setbacks, height, density, "
    "parking and accessory dwelling units."
)
BUILDING_CODES = (
    _COMMON + "\nYou are the building-code specialist: permits, occupancy, exits, "
    "fire safety, kitchens, accessibility and energy rules."
)
GENERAL = (
    _COMMON + "\nYou are the general real-estate assistant. For loan questions use the "
    "mortgage_payment tool."
)


CITE = "Answer from the passages and cite the ones you use, like [1]."
"""The last line before the answer: small models follow the instruction nearest to it."""


def user_prompt(question: str, context: str | None, hits: Sequence[Hit]) -> str:
    """The user turn: the passages found, then the question and its context.

    The question goes last, right before the answer, where a small model attends to it best.
    """
    parts = []
    if hits:
        parts.append("Passages:\n" + format_hits(hits))
    parts.append(f"Question: {question}")
    if context:
        parts.append(f"Context: {context}")
    if hits:
        parts.append(CITE)
    return "\n\n".join(parts)
