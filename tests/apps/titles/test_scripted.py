"""The scripted title generator: five titles on the first request's topic, aware of follow-ups."""

from __future__ import annotations

from typing import Any

from agentstream.apps.titles.scripted import scripted_reply, scripted_turns, topic


def said(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"text": text}]}


def test_topic_keeps_the_first_four_main_words_title_cased() -> None:
    """Stop words go; the first four others are capitalised."""
    assert topic("A blog post about keeping sourdough starter alive while travelling") == (
        "Keeping Sourdough Starter Alive"
    )


def test_a_text_of_only_stop_words_is_your_idea() -> None:
    """Nothing left after stop words gives the fallback topic."""
    assert topic("make some titles for my blog post") == "Your Idea"


def test_the_first_reply_is_five_numbered_titles_and_an_angle() -> None:
    """One request: five numbered lines on its topic, then the angle sentence."""
    lines = scripted_reply([said("user", "sourdough starter")]).splitlines()
    assert [line[:3] for line in lines[:5]] == ["1. ", "2. ", "3. ", "4. ", "5. "]
    assert lines[0] == "1. Sourdough Starter: The Complete Guide"
    assert lines[5] == "These aim for clear, searchable titles about Sourdough Starter."


def test_a_follow_up_keeps_the_first_topic_and_counts_earlier_turns() -> None:
    """A second request builds on the first topic and quotes the latest request."""
    messages = [
        said("user", "sourdough starter"),
        said("assistant", "1. ..."),
        said("user", "make them shorter"),
    ]
    reply = scripted_reply(messages)
    assert reply.startswith("1. Sourdough Starter: The Complete Guide")
    assert reply.endswith(
        'Building on your first request (Sourdough Starter), I took "make them shorter" '
        "into account across 1 earlier turn(s)."
    )


def test_the_turn_replies_with_one_text_step() -> None:
    """The scripted model's one turn answers the conversation it is handed."""
    (turn,) = scripted_turns()
    messages = [said("user", "tidal energy")]
    assert turn(messages, None, None) == [{"text": scripted_reply(messages)}]
