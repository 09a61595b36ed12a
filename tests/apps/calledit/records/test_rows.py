"""Call rows and verdicts as JSON, and a stored verdict read back."""

from __future__ import annotations

from agentstream.apps.calledit.records.rows import CallRow, Verdict, verdict_from_json


def test_a_call_row_and_its_verdict_as_json() -> None:
    """to_dict gives every field, the verdict nested as a dict; a verdict's JSON reads back."""
    verdict = Verdict("verified_true", "It rained.", ["report"], "2025-12-31T00:00:00+00:00")
    row = CallRow("c1", "u1", "r1", {"k": "v"}, "verified_true", 1.0, 2.0, verdict)
    out = row.to_dict()
    assert out["verdict"] == verdict.to_dict() and out["record"] == {"k": "v"}
    assert (out["call_id"], out["run_id"], out["created_at"]) == ("c1", "r1", 1.0)
    text = '{"status":"inconclusive","reasoning":"","evidence":[],"verified_at":"2025"}'
    assert verdict_from_json(text) == Verdict("inconclusive", "", [], "2025")
    assert verdict_from_json(None) is None
