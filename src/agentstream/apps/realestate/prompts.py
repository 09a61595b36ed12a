"""What the real-estate specialists are told."""

from __future__ import annotations

from collections.abc import Sequence

from agentstream.apps.realestate.documents import Hit, format_hits

_COMMON = """\
You answer questions about property in the City of Cedar Bay for buyers, developers and
architects. Be concrete and brief (at most 5 sentences). When passages from the city's documents
are given, answer from them, quote the sentence you rely on and cite it as [n]; if they do not
answer the question, say so. You may search the documents again with your tool."""

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


def user_prompt(question: str, context: str | None, hits: Sequence[Hit]) -> str:
    """The user turn: the question, its context and the passages found for it."""
    parts = [f"Question: {question}"]
    if context:
        parts.append(f"Context: {context}")
    if hits:
        parts.append("Passages from the Cedar Bay documents:\n" + format_hits(hits))
    return "\n\n".join(parts)
