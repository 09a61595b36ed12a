"""A chat client's turn as an app's own request: the mapping `/api/agui` and `/api/chat` share.

AG-UI and the AI SDK both send a conversation (a list of messages) and expect the agent to answer
the last user message. Our apps take their own requests instead (CalledIt: ``{"prompt"}``), so
each app declares a :class:`~agentstream.gateway.routes.ChatInput` and this module builds the
message a WebSocket client would have sent, then parses it with
:func:`~agentstream.gateway.messages.parse`: the same validation, limits and error codes as every
other door. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentstream.gateway.messages import BadMessage, StartRun, parse
from agentstream.gateway.routes import AgentApp
from agentstream.protocol.codec import dumps


class NoChat(BadMessage):
    """The app declares no chat mapping, so chat clients cannot start its runs."""

    code: ClassVar[str] = "no_chat"
    http_status: ClassVar[int] = 404


class NoUserMessage(BadMessage):
    """The conversation has no user message with text to answer."""

    code: ClassVar[str] = "invalid_request"
    http_status: ClassVar[int] = 422


@dataclass(frozen=True)
class Turn:
    """One message of a chat client's conversation, reduced to its role and text."""

    role: str
    text: str


@dataclass(frozen=True)
class Conversation:
    """What a chat client asked: its turns, its thread id, and its extra values."""

    turns: Sequence[Turn]
    thread_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def last_user_text(turns: Sequence[Turn]) -> tuple[str, list[Turn]]:
    """The last user turn's text and the turns before it.

    Raises:
        NoUserMessage: no user turn has text.
    """
    for index in range(len(turns) - 1, -1, -1):
        turn = turns[index]
        if turn.role == "user" and turn.text.strip():
            return turn.text, list(turns[:index])
    raise NoUserMessage("the conversation needs a user message with text")


def chat_command(app: AgentApp, conversation: Conversation, *, max_bytes: int) -> StartRun:
    """The run ``conversation`` starts on ``app``.

    Raises:
        NoChat: the app has no ``chat`` mapping.
        BadMessage: the app's request model refused the mapped fields (``invalid_request``),
            or the message is too large; the same leaves as any other door.
    """
    mapping = app.chat
    if mapping is None:
        raise NoChat(f"app {app.name!r} does not take chat clients (it declares no ChatInput)")
    text, earlier = last_user_text(conversation.turns)
    body: dict[str, Any] = {k: v for k, v in conversation.extra.items() if isinstance(k, str)}
    body["action"] = mapping.action
    body[mapping.text] = text
    if mapping.thread and conversation.thread_id:
        body[mapping.thread] = conversation.thread_id
    if mapping.history:
        body[mapping.history] = [
            {"role": t.role, "content": t.text} for t in earlier if t.role in ("user", "assistant")
        ]
    body.pop("requestId", None)
    command = parse(dumps(body), app, max_bytes=max_bytes)
    if not isinstance(command, StartRun):
        raise NoChat(f"app {app.name!r} maps chat to {mapping.action!r}, which does not stream")
    return command
