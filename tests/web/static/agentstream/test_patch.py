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


def test_a_malformed_or_impossible_op_is_skipped_not_thrown(page: Any) -> None:
    """Ops on a missing parent, past a list's end, or without a path leave the rest applied."""
    doc = js(
        page,
        """
      return as.applyPatch({a: [1]}, [
        {op: 'add', path: '/missing/deep', value: 1},
        {op: 'add', path: '/a/5', value: 9},
        {op: 'add'},
        null,
        {op: 'add', path: '/a/1', value: 2},
        {op: 'add', path: '/b~1c', value: 'slash'},
      ]);
    """,
    )
    assert doc == {"a": [1, 2], "b/c": "slash"}


def test_a_patch_never_shares_values_with_the_ops(page: Any) -> None:
    """Patching an added object later does not change the op that carried it."""
    result = js(
        page,
        """
      const ops = [{op: 'add', path: '/m', value: {source: []}}];
      const doc = as.applyPatch({}, ops);
      const next = as.applyPatch(doc, [{op: 'add', path: '/m/source/-', value: 'x'}]);
      return [ops[0].value, doc, next];
    """,
    )
    assert result == [{"source": []}, {"m": {"source": []}}, {"m": {"source": ["x"]}}]
