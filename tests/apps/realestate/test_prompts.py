"""The specialist's user turn: passages first, the question after them, the citing rule last."""

from __future__ import annotations

from agentstream.apps.realestate.documents import Hit, Passage
from agentstream.apps.realestate.prompts import BUILDING_CODES, CITE, ZONING, user_prompt

HIT = Hit(Passage("zoning-residential.md", "Zoning", "Setbacks", "Rear: 25 feet.", "zoning"), 0.6)


def test_passages_come_before_the_question_and_the_citing_rule_ends_it() -> None:
    """The numbered passage, then question and context, then the instruction to cite."""
    text = user_prompt("How far back?", "Capitol Hill lot", [HIT])
    assert text == (
        "Passages:\n[1] zoning-residential.md § Setbacks\nRear: 25 feet.\n\n"
        f"Question: How far back?\n\nContext: Capitol Hill lot\n\n{CITE}"
    )


def test_without_passages_there_is_nothing_to_cite() -> None:
    """No passages: just the question (the specialist searches with its tool)."""
    assert user_prompt("How far back?", None, []) == "Question: How far back?"


def test_specialists_share_their_opening_text() -> None:
    """System prompts differ only at the end, so the cached prefix serves every specialist."""
    common = len(ZONING) - len(ZONING.split("\n")[-1])
    assert BUILDING_CODES[:common] == ZONING[:common] and common > 200
