"""CalledIt's JSON shapes: the ``logcall`` body, a call as clients see it, field error text."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from agentstream.apps.calledit.records import CallRow, Verdict
from agentstream.apps.calledit.shapes import LogCall, call_json, fields_message


def test_logcall_reads_run_id_by_its_wire_name_or_field_name() -> None:
    """``runId`` (wire) and ``run_id`` (Python) both fill the run id; unknown keys are ignored."""
    assert LogCall.model_validate({"runId": "run_1", "action": "logcall"}).run_id == "run_1"
    assert LogCall.model_validate({"run_id": "run_2"}).run_id == "run_2"
    assert LogCall.model_validate({"runId": "r"}).record is None


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (256, True), (257, False)])
def test_logcall_run_id_length_bounds(length: int, ok: bool) -> None:
    """A run id is 1 to 256 characters: empty and 257 are refused, 1 and 256 pass."""
    body = {"runId": "r" * length}
    if ok:
        assert len(LogCall.model_validate(body).run_id) == length
    else:
        with pytest.raises(ValidationError):
            LogCall.model_validate(body)


def test_logcall_record_must_be_an_object() -> None:
    """A record that is not a JSON object is refused."""
    with pytest.raises(ValidationError):
        LogCall.model_validate({"runId": "r", "record": ["not", "an", "object"]})


def row(verdict: Verdict | None = None) -> CallRow:
    return CallRow(
        user_id="alice",
        call_id="c1",
        run_id="run_1",
        record={"prediction_statement": "rain"},
        status="pending",
        verdict=verdict,
        created_at=1_700_000_000.0,
        updated_at=1_700_000_060.5,
    )


def test_call_json_is_the_row_without_its_owner() -> None:
    """A call as clients see it has every field but ``user_id``; no verdict is null."""
    assert call_json(row()) == {
        "call_id": "c1",
        "run_id": "run_1",
        "record": {"prediction_statement": "rain"},
        "status": "pending",
        "verdict": None,
        "created_at": 1_700_000_000.0,
        "updated_at": 1_700_000_060.5,
    }


def test_call_json_renders_the_verdict_as_its_dict() -> None:
    """A call with a verdict carries the verdict's own dict form."""
    verdict = Verdict(
        status="verified_true", reasoning="it rained", evidence=["radar"], verified_at="t"
    )
    assert call_json(row(verdict))["verdict"] == {
        "status": "verified_true",
        "reasoning": "it rained",
        "evidence": ["radar"],
        "verified_at": "t",
    }


class Two(BaseModel):
    name: str
    size: int


def test_fields_message_names_each_failing_field_under_the_prefix() -> None:
    """Each failing field appears as ``prefix.field: why``, joined by ``; ``."""
    with pytest.raises(ValidationError) as caught:
        Two.model_validate({"size": "big"})
    message = fields_message(caught.value, "record")
    assert message.startswith("record.name: Field required; record.size: ")
    assert message.count("; ") == 1
