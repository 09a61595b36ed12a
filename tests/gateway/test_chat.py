"""A chat client's conversation mapped to each app's own request through its ChatInput."""

from __future__ import annotations

import pytest

from agentstream.apps import load_app
from agentstream.gateway.chat import Conversation, NoChat, NoUserMessage, Turn, chat_command
from agentstream.gateway.messages import InvalidRequest, MessageTooLarge
from agentstream.gateway.routes import AgentApp

TALK = [Turn("user", "first"), Turn("assistant", "ok"), Turn("system", "be brief")]


def command(app_name: str, turns: list[Turn], **extra: object) -> dict[str, object]:
    talk = Conversation([*turns], thread_id="thread-9", extra=extra)
    start = chat_command(load_app(app_name), talk, max_bytes=10_000)
    return {"action": start.action, **start.request.model_dump()}


def test_calledit_takes_the_last_user_message_as_the_prediction() -> None:
    """CalledIt: prompt = the last user turn; extras (timezone) fill the rest; no history."""
    got = command("calledit", [*TALK, Turn("user", "It rains")], timezone="Asia/Tokyo")
    assert got == {"action": "makecall", "prompt": "It rains", "timezone": "Asia/Tokyo"}


def test_titles_gets_the_thread_as_project_and_earlier_turns_as_history() -> None:
    """Titles: projectId = thread id, chat_history = the user/assistant turns before the last."""
    got = command("titles", [*TALK, Turn("user", "A blog")])
    assert got["projectId"] == "thread-9" and got["userInput"] == "A blog"
    assert got["chat_history"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
    ]


def test_strategy_and_realestate_map_their_own_fields() -> None:
    """Strategy: message + conversationId; real estate: question."""
    assert command("strategy", [Turn("user", "low risk")])["conversationId"] == "thread-9"
    assert command("realestate", [Turn("user", "rent?")])["question"] == "rent?"


def test_the_last_user_turn_with_text_wins_over_a_later_blank_one() -> None:
    """A trailing blank user turn is skipped; only text counts."""
    assert command("calledit", [Turn("user", "real"), Turn("user", "   ")])["prompt"] == "real"


def test_errors_name_the_problem() -> None:
    """No user turn, no ChatInput, a too-large or invalid request: each its own error."""
    with pytest.raises(NoUserMessage):
        command("calledit", [Turn("assistant", "hi")])
    with pytest.raises(NoChat):
        chat_command(AgentApp(name="bare"), Conversation([Turn("user", "x")]), max_bytes=100)
    with pytest.raises(InvalidRequest, match="timezone"):
        command("calledit", [Turn("user", "x")], timezone="Nowhere/Place")
    with pytest.raises(MessageTooLarge):
        talk = Conversation([Turn("user", "x" * 200)])
        chat_command(load_app("calledit"), talk, max_bytes=100)


def test_extras_cannot_override_the_action_or_the_mapped_text() -> None:
    """forwardedProps naming ``action`` or ``prompt`` lose to the mapping."""
    got = command("calledit", [Turn("user", "mine")], action="logcall", prompt="theirs")
    assert got["action"] == "makecall" and got["prompt"] == "mine"
