"""The incremental JSON scanner: decoded strings and raw values from text fed in pieces."""

from __future__ import annotations

import json

from agentstream.models.jsonscan import JsonScanner, RawPiece, StringPiece, ValueEnd


def test_scanner_decodes_escapes_split_across_pieces() -> None:
    """Escapes and surrogate pairs split between pieces decode to the original string."""
    value = 'a "quote", a \\ backslash\nnew line, café, emoji 😀 and \t tab'
    text = json.dumps({"message": value, "n": 1})  # ensure_ascii: \u escapes and surrogates
    scanner = JsonScanner(text_paths=frozenset({("message",)}))
    events = [e for ch in text for e in scanner.feed(ch)]
    decoded = "".join(e.text for e in events if isinstance(e, StringPiece))
    assert decoded == value
    assert events[-1] == ValueEnd(("message",))


def test_scanner_passes_raw_values_through_exactly() -> None:
    """A raw path yields the value's exact JSON text, braces inside strings included."""
    args = '{"q": "a } tricky { string", "n": [1, 2, {"x": null}], "f": -1.5e3}'
    text = '{"tool_call": {"name": "s", "arguments": ' + args + "}, " + '"z": 2}'
    scanner = JsonScanner(raw_paths=frozenset({("tool_call", "arguments")}))
    events = [e for ch in text for e in scanner.feed(ch)]
    assert "".join(e.text for e in events if isinstance(e, RawPiece)) == args
    assert ValueEnd(("tool_call", "arguments")) in events


def test_scanner_ends_a_raw_scalar_without_its_delimiter() -> None:
    """A raw number ends at the delimiter, which is not part of the value."""
    scanner = JsonScanner(raw_paths=frozenset({("n",)}))
    events = scanner.feed('{"n": 42, "m": 1}')
    assert events == [RawPiece(("n",), "42"), ValueEnd(("n",))]
