"""The scripted specialist: search when the prompt has no passages, then quote the best one."""

from __future__ import annotations

from typing import Any

from agentstream.apps.realestate.scripted import quote, scripted_turns
from agentstream.apps.realestate.specialists import SPECIALISTS

RESULT = "[1] zoning-a.md § Setbacks\nHouses sit 20 feet back. Sheds 5. Decks 10.\n\n[2] b\nNo."


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def test_quote_cites_the_first_hit_with_its_first_two_sentences() -> None:
    """The answer names the first hit's source and quotes its first two sentences."""
    assert (
        quote(RESULT)
        == 'According to zoning-a.md § Setbacks [1]: "Houses sit 20 feet back. Sheds 5."'
    )


def test_quote_without_a_hit_says_nothing_was_found() -> None:
    """A result with no numbered hit gives the not-found answer."""
    assert quote("No matching passages.") == "I could not find this in the Cedar Bay documents."


def test_without_passages_the_first_step_calls_the_specialists_search_tool() -> None:
    """No passages in the prompt and no results: search with the question, in the tool's name."""
    (turn,) = scripted_turns(SPECIALISTS["zoning"], "setbacks?")
    steps = turn([user("setbacks?")], None, None)
    assert steps[-1] == {"tool": "search_zoning_documents", "input": {"query": "setbacks?"}}


def test_passages_in_the_prompt_are_quoted_at_once() -> None:
    """When the orchestrator put passages in the prompt, the answer quotes them, no search."""
    (turn,) = scripted_turns(SPECIALISTS["zoning"], "setbacks?")
    assert turn([user("Question\n" + RESULT)], None, None) == [{"text": quote(RESULT)}]


def test_the_last_tool_result_is_quoted() -> None:
    """After two searches, the answer quotes the latest tool result, not the first."""
    (turn,) = scripted_turns(SPECIALISTS["general"], "q")
    first, latest = "No matching passages.", RESULT
    messages = [user("q")] + [
        {"role": "user", "content": [{"toolResult": {"toolUseId": n, "content": [{"text": t}]}}]}
        for n, t in (("t1", first), ("t2", latest))
    ]
    assert turn(messages, None, None) == [{"text": quote(RESULT)}]
