"""Control frames: answers that belong to no run's ``seq``.

A run's events carry ``runId``/``seq``; a control frame answers one client message instead
(``ping``, ``cancel``, ``resume``, a reply route, or a message the gateway could not act on). Each
carries the ``requestId`` of the message it answers, when the client sent one, so a client pairs
answers by id rather than by guessing. They are typed here and rendered by the connection's
dialect (:meth:`~agentstream.protocol.dialects.Dialect.render_control`), which keeps the type
names below in every wire format and may add its own envelope (the real-estate seed adds
``timestamp``):

==================  =================================================================
``pong``            ``{"type": "pong"}``
``cancel``          ``{"type": "cancel", "runId", "state", "message"}``
``resume``          ``{"type": "resume", "runId", "state", "lastSeq"?, "message"?}``
``<action>_result`` ``{"type": "<action>_result", **reply}``
``error``           the dialect's error shape with ``message`` and ``code``
==================  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

RequestId: TypeAlias = str | int | None
"""What a client put in ``requestId`` (a string or an integer), or None when it sent none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Control:
    """Fields every control frame carries."""

    type: ClassVar[str] = "control"
    request_id: RequestId = None

    def frame_type(self) -> str:
        """The frame's ``type`` (a reply's depends on its action)."""
        return self.type

    def fields(self) -> dict[str, Any]:
        """The frame's fields besides ``type`` and ``requestId``."""
        return {}


@dataclass(frozen=True, kw_only=True, slots=True)
class Pong(Control):
    """The answer to ``ping``."""

    type: ClassVar[str] = "pong"


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelAnswer(Control):
    """The answer to ``cancel``: ``state`` is ``cancelling``, ``unknown`` or the run's end state."""

    type: ClassVar[str] = "cancel"
    run_id: str
    state: str
    message: str

    def fields(self) -> dict[str, Any]:
        """``runId``, ``state`` and ``message``."""
        return {"runId": self.run_id, "state": self.state, "message": self.message}


@dataclass(frozen=True, kw_only=True, slots=True)
class ResumeAnswer(Control):
    """The answer to ``resume``: the run's state; its missed events follow unless unknown."""

    type: ClassVar[str] = "resume"
    run_id: str
    state: str
    last_seq: int | None = None
    message: str | None = None

    def fields(self) -> dict[str, Any]:
        """``runId``, ``state``, and ``lastSeq``/``message`` when set."""
        out: dict[str, Any] = {"runId": self.run_id, "state": self.state}
        if self.last_seq is not None:
            out["lastSeq"] = self.last_seq
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplyAnswer(Control):
    """What a reply route returned, as ``<action>_result`` (the reply's own keys win)."""

    type: ClassVar[str] = "result"
    action: str
    body: dict[str, Any] = field(default_factory=dict)

    def frame_type(self) -> str:
        """``<action>_result``."""
        return f"{self.action}_result"

    def fields(self) -> dict[str, Any]:
        """The reply as the handler returned it."""
        return dict(self.body)


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorAnswer(Control):
    """A client message the gateway could not act on (``code`` is machine-readable)."""

    type: ClassVar[str] = "error"
    message: str
    code: str
    # Seconds after which the same request will pass (a rate limit's refusal), else None.
    retry_after: int | None = None

    def fields(self) -> dict[str, Any]:
        """``message``, ``code``, and ``retryAfter`` when set."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        return out


def control_frame(control: Control) -> dict[str, Any]:
    """The plain frame for ``control``: ``type``, ``requestId`` when sent, then its fields.

    A reply's own keys come last, so a reply route may answer with a frame of its own ``type``
    (as the real-estate app's ``$default`` answers ``error``), as it always could.
    """
    frame: dict[str, Any] = {"type": control.frame_type()}
    if control.request_id is not None:
        frame["requestId"] = control.request_id
    frame.update(control.fields())
    return frame


__all__ = [
    "CancelAnswer",
    "Control",
    "ErrorAnswer",
    "Pong",
    "ReplyAnswer",
    "RequestId",
    "ResumeAnswer",
    "control_frame",
]
