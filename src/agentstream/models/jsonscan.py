"""Scan JSON text fed in arbitrary pieces; report chosen values while they are generated.

The step decoders (``steps.py``) use it to stream a step's message as text the moment its
characters are generated (escapes decoded across piece boundaries) and a tool call's arguments
as raw JSON. This module does no I/O: feed it text, read scan events back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

JsonPath: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class StringPiece:
    """Decoded characters of a string value at a watched path."""

    path: JsonPath
    text: str


@dataclass(frozen=True, slots=True)
class RawPiece:
    """Raw JSON text of a value at a watched raw path."""

    path: JsonPath
    text: str


@dataclass(frozen=True, slots=True)
class ValueEnd:
    """A watched value is complete."""

    path: JsonPath


ScanEvent: TypeAlias = StringPiece | RawPiece | ValueEnd
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WS = " \t\r\n"


@dataclass(slots=True)
class _Frame:
    array: bool
    key: str | int | None = None
    expect_key: bool = True


@dataclass
class JsonScanner:
    """Scan JSON text fed in arbitrary pieces; report watched values as they are generated.

    ``text_paths`` name string values to decode incrementally; ``raw_paths`` name values (of any
    type) whose raw text is passed through. The input is assumed to be valid JSON (it comes from
    constrained decoding), possibly truncated.
    """

    text_paths: frozenset[JsonPath] = frozenset()
    raw_paths: frozenset[JsonPath] = frozenset()
    _stack: list[_Frame] = field(default_factory=list)
    _string: Literal["", "key", "value"] = ""
    _escape: str | None = None
    _key: list[str] = field(default_factory=list)
    _surrogate: str = ""
    _scalar: bool = False
    _text_path: JsonPath | None = None
    _raw_path: JsonPath | None = None
    _raw_depth: int = 0
    _out: list[ScanEvent] = field(default_factory=list)

    def feed(self, text: str) -> list[ScanEvent]:
        """Scan ``text`` and return the events it completes, in order."""
        for ch in text:
            self._char(ch)
        out, self._out = self._out, []
        return out

    # Pieces are merged with the previous event when possible, so one feed yields few events.
    def _emit(self, event: ScanEvent) -> None:
        last = self._out[-1] if self._out else None
        if (
            isinstance(event, StringPiece)
            and isinstance(last, StringPiece)
            and last.path == event.path
        ):
            self._out[-1] = StringPiece(event.path, last.text + event.text)
        elif isinstance(event, RawPiece) and isinstance(last, RawPiece) and last.path == event.path:
            self._out[-1] = RawPiece(event.path, last.text + event.text)
        else:
            self._out.append(event)

    def _path(self) -> JsonPath:
        return tuple(f.key for f in self._stack if f.key is not None)

    def _char(self, ch: str) -> None:
        if self._raw_path is not None:
            self._emit(RawPiece(self._raw_path, ch))
        if self._string:
            self._string_char(ch)
        elif self._scalar and (ch in _WS or ch in ",]}"):
            self._scalar = False
            self._value_end(raw_included=True)
            self._structural(ch)
        elif not self._scalar:
            self._structural(ch)

    def _structural(self, ch: str) -> None:
        top = self._stack[-1] if self._stack else None
        if ch in _WS:
            return
        if ch == ":" and top:
            top.expect_key = False
        elif ch == "," and top:
            if top.array:
                top.key = int(top.key or 0) + 1
            else:
                top.expect_key, top.key = True, None
        elif ch in "}]":
            self._stack.pop()
            self._value_end()
        elif ch == '"' and top and not top.array and top.expect_key:
            self._string, self._key = "key", []
        else:
            self._value_start(ch)

    def _value_start(self, ch: str) -> None:
        path = self._path()
        if self._raw_path is None and path in self.raw_paths:
            self._raw_path, self._raw_depth = path, len(self._stack)
            self._emit(RawPiece(path, ch))
        if ch in "{[":
            self._stack.append(_Frame(array=ch == "[", key=0 if ch == "[" else None))
        elif ch == '"':
            self._string = "value"
            self._text_path = path if path in self.text_paths else None
        else:
            self._scalar = True

    def _value_end(self, raw_included: bool = False) -> None:
        depth = len(self._stack)
        if self._raw_path is not None and depth == self._raw_depth:
            if raw_included:  # the delimiter that ended a scalar is not part of it
                self._drop_last_raw_char()
            self._emit(ValueEnd(self._raw_path))
            self._raw_path = None
        if self._text_path is not None:
            self._emit(ValueEnd(self._text_path))
            self._text_path = None

    def _drop_last_raw_char(self) -> None:
        last = self._out[-1]
        if isinstance(last, RawPiece):
            self._out[-1] = RawPiece(last.path, last.text[:-1])

    def _string_char(self, ch: str) -> None:
        if self._escape is not None:
            self._escape_char(ch)
        elif ch == "\\":
            self._escape = ""
        elif ch == '"':
            self._close_string()
        else:
            self._decoded(ch)

    def _escape_char(self, ch: str) -> None:
        seq = (self._escape or "") + ch
        if seq[0] != "u":
            self._escape = None
            self._decoded(_ESCAPES.get(ch, ch))
        elif len(seq) < 5:
            self._escape = seq
        else:
            self._escape = None
            self._code_unit(int(seq[1:], 16))

    def _code_unit(self, unit: int) -> None:
        if 0xD800 <= unit < 0xDC00:
            self._surrogate = chr(unit)
        elif 0xDC00 <= unit < 0xE000 and self._surrogate:
            pair = (self._surrogate + chr(unit)).encode("utf-16", "surrogatepass")
            self._surrogate = ""
            self._decoded(pair.decode("utf-16"))
        else:
            self._decoded(chr(unit))

    def _decoded(self, text: str) -> None:
        if self._surrogate:  # a high surrogate not followed by a low one
            self._surrogate = ""
            text = "\ufffd" + text
        if self._string == "key":
            self._key.append(text)
        elif self._text_path is not None:
            self._emit(StringPiece(self._text_path, text))

    def _close_string(self) -> None:
        if self._string == "key":
            self._stack[-1].key = "".join(self._key)
            self._string = ""
            return
        self._string = ""
        self._value_end()
