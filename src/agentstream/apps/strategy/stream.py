"""Turn a streaming tagged answer into our events: chat text, strategy state, strategy errors.

Pure (no I/O): feed it the model's text deltas, read canonical events back.

- user-message text becomes ``TextMessageChunk`` the moment its tag is open;
- a part with lists (the flowchart's nodes and edges, the guardrails) fills in item by item: its
  first complete item adds ``/<part>``, later items are RFC 6902 patches of it (``add`` of
  ``/<part>/nodes/1``…), as the model writes them (not yet validated);
- each complete, valid top-level part of the backend JSON becomes a ``StateDelta`` (an ``add``
  of ``/<part>``, or a ``replace`` of what its items built), so the UI fills in while the model
  is still writing, and the validated part wins over its items;
- an invalid part, malformed JSON or a missing block becomes ``Custom("strategy_error")``;
- :meth:`StrategyStream.finish` ends with a ``StateSnapshot`` of the strategy that now holds: the
  new one when it validated, else the last good one (so a bad answer never breaks the UI).
"""

from __future__ import annotations

from typing import Any

import jsonpatch

from agentstream.apps.strategy.parser import (
    AnswerParser,
    BackendDone,
    BackendInvalid,
    BackendPart,
    BackendProgress,
    MessageDelta,
    ParseEvent,
)
from agentstream.apps.strategy.schemas import (
    PARTS,
    InvalidStrategy,
    validate_part,
    validate_strategy,
)
from agentstream.protocol.events import Custom, Event, StateDelta, StateSnapshot, TextMessageChunk


class StrategyStream:
    """One answer being parsed; ``result()`` is the run's final result."""

    def __init__(self, last_good: dict[str, Any] | None, message_id: str = "") -> None:
        """Start parsing; ``last_good`` is the strategy to keep if this answer's is unusable."""
        self.parser = AnswerParser()
        self.last_good = last_good
        self.message_id = message_id
        self.strategy: dict[str, Any] | None = None
        self.error: str | None = None
        self._shown: dict[str, Any] = {}
        """What the deltas so far have put at each ``/<part>``."""

    @property
    def user_message(self) -> str:
        """The user message so far."""
        return self.parser.user_message

    @property
    def current(self) -> dict[str, Any] | None:
        """The strategy that holds now: this answer's if valid, else the last good one."""
        return self.strategy if self.strategy is not None else self.last_good

    def feed(self, text: str | bytes) -> list[Event]:
        """Events for the next piece of the answer."""
        return self._events(self.parser.feed(text))

    def finish(self) -> list[Event]:
        """Events for the end of the answer, ending with the strategy snapshot."""
        return [*self._events(self.parser.finish()), StateSnapshot(snapshot=self.current)]

    def result(self) -> dict[str, Any]:
        """``{user_message, strategy_json[, error]}`` (the seed's ``StrategyBuilderResponse``)."""
        result: dict[str, Any] = {"user_message": self.user_message, "strategy_json": self.current}
        if self.error is not None:
            result["error"] = self.error
        return result

    def _events(self, parsed: list[ParseEvent]) -> list[Event]:
        events: list[Event] = []
        for item in parsed:
            match item:
                case MessageDelta(text=text):
                    events.append(TextMessageChunk(delta=text, message_id=self.message_id))
                case BackendProgress(key=key, value=value):
                    events.extend(self._progress(key, value))
                case BackendPart(key=key, value=value):
                    events.extend(self._part(key, value))
                case BackendDone(value=value):
                    events.extend(self._done(value))
                case BackendInvalid(code=code, reason=reason):
                    events.append(self._fail(reason, code))
        return events

    def _progress(self, key: str, value: Any) -> list[Event]:
        if key not in PARTS or not isinstance(value, dict):
            return []
        shown = self._shown.get(key)
        if shown is None:
            ops = [{"op": "add", "path": f"/{key}", "value": value}]
        else:
            ops = [
                {**op, "path": f"/{key}{op['path']}"}
                for op in jsonpatch.make_patch(shown, value).patch
            ]
        self._shown[key] = value
        return [StateDelta(delta=ops)] if ops else []

    def _part(self, key: str, value: Any) -> list[Event]:
        try:
            part = validate_part(key, value)
        except InvalidStrategy as exc:
            return [self._fail(f"invalid {key}: {exc}", "invalid_strategy", section=key)]
        if part is None:
            return []
        op = "replace" if key in self._shown else "add"
        self._shown[key] = part
        return [StateDelta(delta=[{"op": op, "path": f"/{key}", "value": part}])]

    def _done(self, value: dict[str, Any]) -> list[Event]:
        try:
            self.strategy = validate_strategy(value)
        except InvalidStrategy as exc:
            if self.error is None:  # a part already said what is wrong
                return [self._fail(f"invalid strategy: {exc}", "invalid_strategy")]
        return []

    def _fail(self, message: str, code: str, section: str | None = None) -> Event:
        self.error = self.error or message
        value: dict[str, Any] = {"message": message, "code": code}
        if section is not None:
            value["section"] = section
        return Custom(name="strategy_error", value=value)
