"""The dialect registry: found by name, registered by apps, one rule for control frames."""

from __future__ import annotations

from typing import Any

import pytest

from agentstream.errors import BadRequest
from agentstream.protocol import dialects
from agentstream.protocol.control import CancelAnswer, ErrorAnswer, Pong
from agentstream.protocol.dialects import (
    Dialect,
    UnknownDialect,
    get_dialect,
    names,
    plain_control,
    register,
)
from agentstream.protocol.dialects.seed import SeedDialect
from agentstream.protocol.events import Event


def test_unknown_dialect_lists_the_known_ones() -> None:
    """Asking for an unknown dialect names the known ones."""
    with pytest.raises(UnknownDialect, match="agentstream"):
        get_dialect("nope")
    assert {"agentstream", "calledit"} <= set(names())


def test_unknown_dialect_is_a_bad_request_and_a_lookup_error() -> None:
    """An unknown dialect is the client's mistake (400) and still catchable as a LookupError."""
    with pytest.raises(UnknownDialect) as caught:
        get_dialect("nope")
    assert isinstance(caught.value, BadRequest) and isinstance(caught.value, LookupError)
    assert caught.value.http_status == 400


def test_names_lists_every_built_in_dialect_sorted() -> None:
    """``names`` loads the built-in dialects on its own and lists them in order."""
    listed = names()
    assert {"agentstream", "ag-ui", "calledit", "realestate", "strategy", "titles"} <= set(listed)
    assert listed == sorted(listed)


def test_register_makes_an_app_dialect_available_by_name() -> None:
    """A dialect an app registers is returned by ``get_dialect`` under its name."""
    dialect = register(SeedDialect("test-mirror", lambda event: {"type": "x"}))
    try:
        assert get_dialect("test-mirror") is dialect
        assert "test-mirror" in names()
    finally:
        dialects._REGISTRY.pop("test-mirror")


class _Recording:
    """A dialect that records the errors it is asked to render."""

    name = "recording"

    def render(self, event: Event) -> dict[str, Any]:
        return {}

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        return {"kind": "err", "message": message, "code": code, **extra}

    def render_control(self, control: Any) -> dict[str, Any]:
        return plain_control(self, control)


def test_plain_control_renders_errors_in_the_dialect_shape_with_the_request_id() -> None:
    """An error answer goes through the dialect's own error shape and keeps its requestId."""
    dialect: Dialect = _Recording()
    frame = plain_control(dialect, ErrorAnswer(message="bad", code="bad_json", request_id="r9"))
    assert frame == {"kind": "err", "message": "bad", "code": "bad_json", "requestId": "r9"}


def test_plain_control_adds_no_request_id_when_the_client_sent_none() -> None:
    """An error answer to a message without a requestId carries no requestId key at all."""
    frame = plain_control(_Recording(), ErrorAnswer(message="bad", code="bad_json"))
    assert "requestId" not in frame


def test_plain_control_passes_other_answers_through_as_plain_frames() -> None:
    """Non-error answers keep their control ``type`` rather than the dialect's error shape."""
    assert plain_control(_Recording(), Pong(request_id="r1")) == {"type": "pong", "requestId": "r1"}
    frame = plain_control(
        _Recording(), CancelAnswer(run_id="run_1", state="cancelled", message="done")
    )
    assert frame["type"] == "cancel" and frame["runId"] == "run_1"
