"""The browser's JSON Patch applier for state deltas (agentstream/patch.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_json_patch_builds_a_partial_record(page: Any) -> None:
    """state_delta patches (add, replace, remove, append) apply in order to a copy."""
    doc = js(
        page,
        """
      const start = {verification_method: {source: []}};
      const out = as.applyPatch(start, [
        {op: 'add', path: '/prediction_statement', value: 'x'},
        {op: 'add', path: '/verification_method/source/-', value: 'a'},
        {op: 'add', path: '/verification_method/source/-', value: 'b'},
        {op: 'replace', path: '/prediction_statement', value: 'y'},
        {op: 'remove', path: '/verification_method/source/0'},
      ]);
      return {out, start};
    """,
    )
    assert doc["out"] == {"verification_method": {"source": ["b"]}, "prediction_statement": "y"}
    assert doc["start"] == {"verification_method": {"source": []}}
