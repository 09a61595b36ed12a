"""Citations name only passages the search returned: by their number or by a quoted sentence."""

from __future__ import annotations

from agentstream.apps.realestate.citations import MIN_QUOTE_WORDS, Citation, cited, sources_line
from agentstream.apps.realestate.documents import Hit, Passage

SETBACKS = Hit(
    Passage(
        "zoning-residential.md",
        "Zoning",
        "Setbacks",
        "Side setbacks are 5 feet and the rear setback is 25 feet. Lot coverage is 35 percent.",
        "zoning",
    ),
    0.6,
)
PARKING = Hit(
    Passage(
        "zoning-residential.md",
        "Zoning",
        "Parking",
        "No parking is required within a quarter mile of frequent transit.",
        "zoning",
    ),
    0.4,
)
HITS = [SETBACKS, PARKING]


def test_numbers_name_the_passages_in_prompt_order() -> None:
    """[2] and [1] cite the second and first passage, once each, in number order."""
    assert cited("Parking is free [2], setbacks vary [1] [2].", HITS) == [
        Citation(1, SETBACKS),
        Citation(2, PARKING),
    ]


def test_numbers_that_name_no_retrieved_passage_are_dropped() -> None:
    """[0] and [3] (one past the last passage) are not citations."""
    assert cited("See [0] and [3].", HITS) == []
    assert cited("See [2].", HITS) == [Citation(2, PARKING)]


def test_a_sentence_quoted_without_a_number_cites_its_passage() -> None:
    """Six words in a row from a passage count as quoting it, whatever the case and punctuation."""
    assert cited("A REAR setback is 25 feet, they say.", HITS) == []  # five words in a row
    assert cited("Note: the rear setback is 25 feet.", HITS) == [Citation(1, SETBACKS)]
    assert cited("Inthe rear setback is 25 feetish", HITS) == []  # whole words only
    assert MIN_QUOTE_WORDS == 6


def test_sources_line_names_document_and_section() -> None:
    """The line lists each cited passage as ``[n] doc § section``; nothing cited, no line."""
    line = sources_line([Citation(1, SETBACKS), Citation(2, PARKING)])
    assert line == (
        "Sources: [1] zoning-residential.md § Setbacks; [2] zoning-residential.md § Parking"
    )
    assert sources_line([]) == ""
    assert Citation(2, PARKING).to_dict() == {
        "n": 2,
        "doc": "zoning-residential.md",
        "section": "Parking",
    }
