"""Parse a strategy-builder answer while it streams: ``<user_message>`` text and ``<backend>`` JSON.

The model answers with two tagged blocks::

    <user_message>
    I've built a conservative strategy for your $5,000...
    </user_message>
    <backend>
    {"flowchart": {...}, "degen_class": {...}, "strategy_metrics": {...}, "guardrails": {...}}
    </backend>

:class:`AnswerParser` is fed the answer in pieces of any size (text, or bytes split anywhere, even
inside a multi-byte character) and returns events as soon as they are certain:

- :class:`MessageDelta` as soon as the ``<user_message>`` tag is open; a piece that might be the
  start of ``</user_message>`` is held back until the next piece settles it. Leading and trailing
  whitespace is trimmed, so the deltas concatenate to :attr:`MessageDone.text`.
- :class:`BackendProgress` each time an object inside a list of a top-level member closes (a
  flowchart node or edge, a guardrail): the member so far, parsed in pydantic-core's partial mode,
  so long parts fill in item by item;
- :class:`BackendPart` each time a top-level member of the backend JSON object is complete (a
  container member at its closing bracket, a scalar at the following ``,`` or ``}``).
- :class:`BackendDone` with the whole object when ``</backend>`` arrives, or
  :class:`BackendInvalid` when the block is malformed, unclosed or missing.

Text before any tag is the user message, streamed the same way (small models often drop the
``<user_message>`` tag and start writing the message at once), and an answer that opens with a bare
``{`` is taken as the backend JSON. The parser does no I/O and no validation beyond JSON syntax.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import pydantic_core

OPEN_MESSAGE = "<user_message>"
CLOSE_MESSAGE = "</user_message>"
OPEN_BACKEND = "<backend>"
CLOSE_BACKEND = "</backend>"

ITEM_DEPTH = 3
"""Nesting depth back at which an item of a list in a top-level member has closed
(``{"flowchart": {"nodes": [{…}`` : backend object 1, flowchart 2, nodes 3)."""

InvalidCode: TypeAlias = Literal["missing", "invalid_json", "not_object", "unclosed"]


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """More of the user message."""

    text: str


@dataclass(frozen=True, slots=True)
class MessageDone:
    """The user message is complete; ``text`` is all of it."""

    text: str


@dataclass(frozen=True, slots=True)
class BackendPart:
    """A complete top-level member of the backend JSON object."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class BackendProgress:
    """A top-level member still being written: ``value`` holds its complete list items so far."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class BackendDone:
    """The backend block closed and holds this JSON object."""

    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BackendInvalid:
    """The backend block is unusable; ``reason`` says why in words a user can act on."""

    code: InvalidCode
    reason: str


ParseEvent: TypeAlias = (
    MessageDelta | MessageDone | BackendProgress | BackendPart | BackendDone | BackendInvalid
)


def held_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def _held_for_any(text: str, tags: tuple[str, ...]) -> int:
    return max(held_suffix(text, tag) for tag in tags)


@dataclass
class _MessageWriter:
    """Emits user-message text with leading and trailing whitespace trimmed, as it streams."""

    started: bool = False
    held_space: str = ""
    separator: str = ""
    parts: list[str] = field(default_factory=list)

    def write(self, text: str) -> list[ParseEvent]:
        if not self.started:
            text = text.lstrip()
            if not text:
                return []
            self.started = True
            text, self.separator = self.separator + text, ""
        combined = self.held_space + text
        body = combined.rstrip()
        self.held_space = combined[len(body) :]
        if not body:
            return []
        self.parts.append(body)
        return [MessageDelta(body)]

    def close(self) -> None:
        """End a block: trailing whitespace is dropped; a later block starts a new paragraph."""
        self.held_space = ""
        if self.started:
            self.started, self.separator = False, "\n\n"

    @property
    def text(self) -> str:
        return "".join(self.parts)


class _MemberScanner:
    """Finds complete top-level members of a JSON object as its text arrives."""

    def __init__(self, *, bare: bool = False) -> None:
        self.bare = bare
        """The object came without a ``<backend>`` tag: its closing brace ends the block."""
        self.raw = ""
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._opened = False
        self._closed = False
        self._member_start = 0
        self._member_done = False

    @property
    def closed(self) -> bool:
        """The object's closing brace has arrived."""
        return self._closed

    def take_rest(self) -> str:
        """Remove and return the text after the closing brace (it is not part of the block)."""
        rest, self.raw = self.raw[self._pos :], self.raw[: self._pos]
        return rest

    def feed(self, text: str) -> list[ParseEvent]:
        self.raw += text
        events: list[ParseEvent] = []
        while self._pos < len(self.raw) and not self._closed:
            events.extend(self._step(self.raw[self._pos], self._pos))
            self._pos += 1
        return events

    def _step(self, char: str, index: int) -> list[ParseEvent]:
        if not self._opened:
            if char == "{":  # anything before the object (a code fence) is skipped
                self._opened, self._depth, self._member_start = True, 1, index + 1
            return []
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif char == "\\":
                self._escaped = True
            elif char == '"':
                self._in_string = False
            return []
        if char == '"':
            self._in_string = True
        elif char in "{[":
            self._depth += 1
        elif char in "}]":
            return self._close_bracket(index)
        elif char == "," and self._depth == 1:
            events = self._member(self.raw[self._member_start : index])
            self._member_start, self._member_done = index + 1, False
            return events
        return []

    def _close_bracket(self, index: int) -> list[ParseEvent]:
        self._depth -= 1
        if self._depth == ITEM_DEPTH:
            return self._progress(self.raw[self._member_start : index + 1])
        if self._depth == 1:
            return self._member(self.raw[self._member_start : index + 1])
        if self._depth == 0:
            self._closed = True
            return self._member(self.raw[self._member_start : index])
        return []

    def _progress(self, text: str) -> list[ParseEvent]:
        try:
            member = pydantic_core.from_json("{" + text, allow_partial=True)
        except ValueError:
            return []  # the whole-block parse at the end reports the error
        return [BackendProgress(key, value) for key, value in member.items()]

    def _member(self, text: str) -> list[ParseEvent]:
        if self._member_done or not text.strip():
            return []
        self._member_done = True
        try:
            member = json.loads("{" + text + "}")
        except json.JSONDecodeError:
            return []  # the whole-block parse at the end reports the error
        return [BackendPart(key, value) for key, value in member.items()]


def _strip_fence(text: str) -> str:
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rstrip()
        if body.endswith("```"):
            body = body[:-3]
    return body.strip()


def parse_backend(text: str, *, closed: bool = True) -> BackendDone | BackendInvalid:
    """The backend block's JSON object, or why it is unusable."""
    body = _strip_fence(text)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        if not closed:
            return BackendInvalid(
                "unclosed",
                "the <backend> block ended before its JSON was "
                f"complete ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            )
        return BackendInvalid(
            "invalid_json",
            f"the <backend> block is not valid JSON: {exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}",
        )
    if not isinstance(value, dict):
        return BackendInvalid(
            "not_object", f"the <backend> block must hold a JSON object, not {type(value).__name__}"
        )
    return BackendDone(value)


class AnswerParser:
    """Incremental parser of one tagged answer; see the module docstring."""

    def __init__(self) -> None:
        """Start outside any tag."""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._mode: Literal["outside", "message", "backend"] = "outside"
        self._pending = ""
        self._loose: list[str] = []
        self._writer = _MessageWriter()
        self._scanner: _MemberScanner | None = None
        self.message_seen = False
        self.backend_seen = False
        self.backend: BackendDone | BackendInvalid | None = None
        self.finished = False

    @property
    def user_message(self) -> str:
        """The user message so far."""
        return self._writer.text

    @property
    def complete(self) -> bool:
        """Both blocks are closed: nothing the model writes after this matters."""
        return self.message_seen and self.backend is not None and self._mode == "outside"

    def feed(self, chunk: str | bytes) -> list[ParseEvent]:
        """Consume a piece of the answer; returns the events it settles."""
        if self.finished:
            raise ValueError("feed() after finish()")
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        self._pending += text
        events: list[ParseEvent] = []
        while True:
            before = (self._mode, len(self._pending))
            events.extend(self._advance())
            if (self._mode, len(self._pending)) == before:
                return events

    def finish(self) -> list[ParseEvent]:
        """The stream ended: flush what is held and settle the backend block."""
        if self.finished:
            return []
        events = self.feed(self._decoder.decode(b"", final=True))
        self.finished = True
        if self._mode == "message":
            events.extend(self._end_message(_drop_partial(self._pending, CLOSE_MESSAGE)))
        elif self._mode == "backend" and self._scanner is not None:
            self._scanner.feed(_drop_partial(self._pending, CLOSE_BACKEND))
            self.backend = parse_backend(self._scanner.raw, closed=False)
            events.append(self.backend)
        else:
            self._loose.append(self._pending)
        self._pending = ""
        if not self.message_seen:
            events.extend(self._writer.write("".join(self._loose)))
            self._writer.close()
            events.append(MessageDone(self._writer.text))
        if not self.backend_seen:
            self.backend = BackendInvalid("missing", "the answer has no <backend> block")
            events.append(self.backend)
        return events

    def _advance(self) -> list[ParseEvent]:
        if self._mode == "outside":
            return self._outside()
        if self._mode == "message":
            return self._in_message()
        return self._in_backend()

    def _outside(self) -> list[ParseEvent]:
        if not (self.message_seen or self.backend_seen):
            return self._opening()
        return self._between()

    def _opening(self) -> list[ParseEvent]:
        """Start of the answer: an untagged opening is the message (or a bare JSON backend).

        Small models often drop ``<user_message>`` and write the message straight away; held
        back until the end, it would reach the chat last and in one piece.
        """
        head = self._pending.lstrip()
        if not head or any(
            tag.startswith(head[: len(tag)]) for tag in (OPEN_MESSAGE, OPEN_BACKEND)
        ):
            return self._between()
        if head.startswith("{"):
            self._mode, self.backend_seen = "backend", True
            self._scanner = _MemberScanner(bare=True)
        else:
            self._mode, self.message_seen = "message", True
        self._loose.append(self._pending[: len(self._pending) - len(head)])
        self._pending = head
        return []

    def _between(self) -> list[ParseEvent]:
        found = [(self._pending.find(tag), tag) for tag in (OPEN_MESSAGE, OPEN_BACKEND)]
        hits = [(index, tag) for index, tag in found if index >= 0]
        if not hits:
            keep = _held_for_any(self._pending, (OPEN_MESSAGE, OPEN_BACKEND))
            self._loose.append(self._pending[: len(self._pending) - keep])
            self._pending = self._pending[len(self._pending) - keep :]
            return []
        index, tag = min(hits)
        self._loose.append(self._pending[:index])
        self._pending = self._pending[index + len(tag) :]
        if tag == OPEN_MESSAGE:
            self._mode, self.message_seen = "message", True
        else:
            self._mode, self.backend_seen = "backend", True
            self._scanner = _MemberScanner()
        return []

    def _in_message(self) -> list[ParseEvent]:
        # A <backend> tag also ends the message: small models forget </user_message>.
        tags = (CLOSE_MESSAGE, OPEN_BACKEND, OPEN_MESSAGE)
        found = [(self._pending.find(tag), tag) for tag in tags]
        hits = [(index, tag) for index, tag in found if index >= 0]
        if hits:
            index, tag = min(hits)
            content = self._pending[:index]
            if tag == OPEN_MESSAGE:  # a stray repeat of the opening tag is dropped
                self._pending = self._pending[index + len(OPEN_MESSAGE) :]
                return self._writer.write(content)
            rest = index + len(CLOSE_MESSAGE) if tag == CLOSE_MESSAGE else index
            self._pending = self._pending[rest:]
            self._mode = "outside"
            return self._end_message(content)
        keep = _held_for_any(self._pending, tags)
        safe = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(safe) :]
        return self._writer.write(safe)

    def _end_message(self, content: str) -> list[ParseEvent]:
        events = self._writer.write(content)
        self._writer.close()
        return [*events, MessageDone(self._writer.text)]

    def _in_backend(self) -> list[ParseEvent]:
        scanner = self._scanner
        if scanner is None:  # pragma: no cover - set together with the mode
            raise ValueError("backend mode without a scanner")
        index = self._pending.find(CLOSE_BACKEND)
        if index >= 0:
            events = scanner.feed(self._pending[:index])
            self._pending = self._pending[index + len(CLOSE_BACKEND) :]
            self._mode = "outside"
            self.backend = parse_backend(scanner.raw)
            return [*events, self.backend]
        keep = held_suffix(self._pending, CLOSE_BACKEND)
        safe = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(safe) :]
        events = scanner.feed(safe)
        if scanner.bare and scanner.closed:  # no tag to wait for: the object itself ended
            self._pending = scanner.take_rest() + self._pending
            self._mode = "outside"
            self.backend = parse_backend(scanner.raw)
            return [*events, self.backend]
        return events


def _drop_partial(text: str, tag: str) -> str:
    """``text`` without a trailing, unfinished ``tag`` (the stream stopped inside it)."""
    keep = held_suffix(text, tag)
    return text[: len(text) - keep] if keep else text


def parse_answer(text: str | bytes) -> list[ParseEvent]:
    """Parse a whole answer at once (what the streaming parser must agree with)."""
    parser = AnswerParser()
    return [*parser.feed(text), *parser.finish()]
