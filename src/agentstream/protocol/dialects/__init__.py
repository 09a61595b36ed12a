"""Wire formats rendered from the canonical event model.

A dialect turns each canonical event into exactly one JSON object (a frame), and renders the
control frames that belong to no run (``pong``, ``cancel``, ``resume``, ``<action>_result`` and
``error``; see :mod:`agentstream.protocol.control`). Dialects are pure and stateless, so a replayed
log renders to the very frames a live client saw.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from agentstream.errors import BadRequest
from agentstream.protocol.control import Control, ErrorAnswer, control_frame
from agentstream.protocol.events import Event


class Dialect(Protocol):
    """One wire format."""

    name: str

    def render(self, event: Event) -> dict[str, Any]:
        """The frame for ``event``."""
        ...

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """A frame for an error that belongs to no run (or to a run that never started)."""
        ...

    def render_control(self, control: Control) -> dict[str, Any]:
        """The frame for a control answer (keeps its ``type`` name; may add an envelope)."""
        ...


def plain_control(dialect: Dialect, control: Control) -> dict[str, Any]:
    """The usual ``render_control``: errors in the dialect's error shape, the rest as they are.

    Dialects call this from their own ``render_control`` and add their envelope around it.
    """
    if isinstance(control, ErrorAnswer):
        extra: dict[str, Any] = {}
        if control.request_id is not None:
            extra["requestId"] = control.request_id
        if control.retry_after is not None:
            extra["retryAfter"] = control.retry_after
        return dialect.render_error(control.message, control.code, **extra)
    return control_frame(control)


def with_first_seq(frame: dict[str, Any], first_seq: int) -> dict[str, Any]:
    """Mark ``frame`` as merged text that covers ``first_seq`` up to its own ``seq``.

    ``firstSeq`` goes next to ``seq``: at the top of the frame, or in AG-UI's ``metadata``. A
    client checking for gaps reads the frame as every number from ``firstSeq`` to ``seq``.
    """
    metadata = frame.get("metadata")
    if "seq" not in frame and isinstance(metadata, dict) and "seq" in metadata:
        metadata["firstSeq"] = first_seq
    else:
        frame["firstSeq"] = first_seq
    return frame


class UnknownDialect(BadRequest, LookupError):
    """No dialect has the requested name."""

    code: ClassVar[str] = "unknown_dialect"


_REGISTRY: dict[str, Dialect] = {}


def register(dialect: Dialect) -> Dialect:
    """Make ``dialect`` available by name (apps that bring their own wire format call this)."""
    _REGISTRY[dialect.name] = dialect
    return dialect


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``."""
    # Imported here so the built-in dialects register themselves on first use.
    from agentstream.protocol.dialects import (  # noqa: F401
        agentstream,
        agui,
        calledit,
        realestate,
        strategy,
        titles,
    )

    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownDialect(f"unknown dialect {name!r}; known: {known}") from None


def names() -> list[str]:
    """Names of the registered dialects."""
    get_dialect("agentstream")
    return sorted(_REGISTRY)
