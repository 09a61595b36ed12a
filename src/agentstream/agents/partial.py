"""A structured result as it is generated: partial JSON in, state snapshot and deltas out.

The model writes the structured-output tool's input as JSON, piece by piece. Each time the text
grows we parse it with pydantic-core's partial mode (an unfinished trailing string is kept, so a
statement grows word by word) and compare the result with the state already sent:

- the first time the object has a field, a ``StateSnapshot`` carries it whole;
- after that, a ``StateDelta`` carries RFC 6902 ops: ``add`` for a new key or list item,
  ``replace`` (with the whole value so far) for a string or number that changed, ``remove`` only
  if a partial parse took something back.

A text that does not parse (a malformed or cut tail) is skipped until more text arrives; it never
raises. :meth:`PartialState.settle` finally aligns the state with the validated result, which wins.

This module does no I/O: feed it text, read events back.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

from agentstream.protocol.events import Event, StateDelta, StateSnapshot

__all__ = ["PartialState", "diff"]


class PartialState:
    """The partial object parsed so far, and the events that keep a client's copy in step."""

    def __init__(self) -> None:
        """Nothing parsed yet."""
        self.text = ""
        self.state: dict[str, Any] | None = None

    def append(self, piece: str) -> list[Event]:
        """Events for the text grown by ``piece``."""
        return self.feed(self.text + piece)

    def feed(self, text: str) -> list[Event]:
        """Events for the whole text so far (``text`` replaces what was fed before)."""
        self.text = text
        try:
            parsed = from_json(text, allow_partial="trailing-strings")
        except ValueError:
            return []  # not parseable yet (or ever): wait for more text
        if not isinstance(parsed, dict) or not parsed:
            return []
        return self._move_to(parsed)

    def settle(self, final: dict[str, Any]) -> list[Event]:
        """Events that make the client's state equal the validated ``final`` value.

        Nothing is sent when no partial state was ever sent: the final result says it all.
        """
        if self.state is None:
            return []
        return self._move_to(final)

    def _move_to(self, new: dict[str, Any]) -> list[Event]:
        if self.state is None:
            self.state = new
            return [StateSnapshot(snapshot=new)]
        ops = diff(self.state, new)
        self.state = new
        return [StateDelta(delta=ops)] if ops else []


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """RFC 6902 ops that turn ``old`` into ``new`` (add, replace and remove only).

    Args:
        old: The value the client holds.
        new: The value it should hold.
        path: The JSON Pointer of both values.

    Returns:
        The ops, in an order that applies cleanly.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_objects(old, new, path)
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": path, "value": new}]


def _diff_objects(old: dict[str, Any], new: dict[str, Any], path: str) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for key in old:
        if key not in new:
            ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
    for key, value in new.items():
        child = f"{path}/{_escape(key)}"
        if key in old:
            ops.extend(diff(old[key], value, child))
        else:
            ops.append({"op": "add", "path": child, "value": value})
    return ops


def _diff_lists(old: list[Any], new: list[Any], path: str) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for index in range(len(old) - 1, len(new) - 1, -1):  # from the end, so indexes stay valid
        ops.append({"op": "remove", "path": f"{path}/{index}"})
    for index, value in enumerate(new):
        if index < len(old):
            ops.extend(diff(old[index], value, f"{path}/{index}"))
        else:
            ops.append({"op": "add", "path": f"{path}/{index}", "value": value})
    return ops


def _escape(key: str) -> str:
    """``key`` as one JSON Pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")
