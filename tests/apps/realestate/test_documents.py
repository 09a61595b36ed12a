"""The shipped documents and the embedding search the specialists rely on."""

from __future__ import annotations

import pytest

from agentstream.apps.realestate.documents import (
    Hit,
    category_of,
    default_index,
    format_hits,
    load_passages,
    split_passages,
    split_sentences,
)


def test_documents_split_into_categorised_passages() -> None:
    """Every ## section is a passage; file names give the category."""
    passages = load_passages()
    assert len(passages) >= 20
    assert {p.category for p in passages} == {"zoning", "building_codes"}
    assert category_of("building-codes-commercial.md") == "building_codes"
    (only,) = split_passages("zoning-x.md", "# T\n\n## Heights\nUp to 30   feet.\n")
    assert (only.title, only.section, only.text, only.category) == (
        "T",
        "Heights",
        "Up to 30 feet.",
        "zoning",
    )


@pytest.mark.parametrize(
    ("query", "category", "section"),
    [
        (
            "Do I need parking for an apartment near transit?",
            "zoning",
            "Residential parking requirements",
        ),
        ("What is the maximum stair riser height?", None, "Stairs, guards and handrails"),
        ("Does a restaurant kitchen need a hood?", "building_codes", "Commercial kitchens"),
        (
            "How far must a house be from the side lot line?",
            "zoning",
            "Setbacks and lot coverage in NR zones",
        ),
    ],
)
def test_search_finds_the_passage_that_answers(
    query: str, category: str | None, section: str
) -> None:
    """The local embedding model ranks the answering section first."""
    hits = default_index().search(query, category, 3)
    assert hits[0].passage.section == section
    assert all(category is None or h.passage.category == category for h in hits)
    assert hits[0].score > hits[-1].score
    assert format_hits(hits).startswith(f"[1] {hits[0].passage.source}\n")


def test_excerpts_keep_the_sentences_closest_to_the_question_in_text_order() -> None:
    """A passage is cut to its most relevant sentences, in their original order, same source."""
    index = default_index()
    question = "What is the maximum building height for a house?"  # its last sentence ranks first
    (hit,) = [h for h in index.search(question, "zoning", 5) if "Setbacks" in h.passage.section]
    (short,) = index.excerpts(question, [hit], sentences=2)
    assert short.passage.source == hit.passage.source and short.score == hit.score
    kept = split_sentences(short.passage.text)
    whole = split_sentences(hit.passage.text)
    assert len(kept) == 2 and len(whole) > 2
    assert [whole.index(s) for s in kept] == sorted(whole.index(s) for s in kept)
    assert "maximum building height" in kept[-1]
    assert index.excerpts(question, []) == []


def test_split_sentences_ends_at_a_stop_before_a_capital_or_digit() -> None:
    """'5.5 feet' and 'e.g. this' stay whole; 'feet. The' splits."""
    assert split_sentences("Height is 5.5 feet. The rear e.g. this. 3 more.") == [
        "Height is 5.5 feet.",
        "The rear e.g. this.",
        "3 more.",
    ]


def test_excerpts_share_one_sentence_budget_and_drop_passages_left_empty() -> None:
    """The budget spans all passages; one whose sentences all rank lower is left out."""
    index = default_index()
    question = "How far must a house be from the rear lot line?"
    by_section = {p.section: p for p in index.passages}
    setbacks = Hit(by_section["Setbacks and lot coverage in NR zones"], 0.6)
    exits = Hit(by_section["Exits and egress for commercial spaces"], 0.3)
    (only,) = index.excerpts(question, [setbacks, exits], sentences=2)
    assert only.passage.section == setbacks.passage.section
    assert len(split_sentences(only.passage.text)) == 2
    both = index.excerpts(question, [setbacks, exits], sentences=20)
    assert [h.passage.text for h in both] == [setbacks.passage.text, exits.passage.text]
