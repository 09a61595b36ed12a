"""The JSON shapes of the call lifecycle: the ``logcall`` body, a call as clients see it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentstream.apps.calledit.records import CallRow


class LogCall(BaseModel):
    """``{"action":"logcall","runId":…,"record"?:{…}}`` (and the ``POST /api/calls`` body)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    run_id: str = Field(alias="runId", min_length=1, max_length=256)
    record: dict[str, Any] | None = None


def call_json(row: CallRow) -> dict[str, Any]:
    """A call as clients see it (the owner is implied by who asks)."""
    return {
        "call_id": row.call_id,
        "run_id": row.run_id,
        "record": row.record,
        "status": row.status,
        "verdict": row.verdict.to_dict() if row.verdict else None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def fields_message(exc: ValidationError, prefix: str) -> str:
    """``prefix.field: why`` for each field that failed."""
    parts = []
    for err in exc.errors():
        where = ".".join([prefix, *(str(p) for p in err["loc"])])
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
