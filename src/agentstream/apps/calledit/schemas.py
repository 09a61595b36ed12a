"""CalledIt's request and record shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from agentstream import clock

MAX_PROMPT_CHARS = 2000
Item = Annotated[str, StringConstraints(max_length=300)]
"""One source, criterion or step: a line, not a paragraph (constrained decoding enforces it)."""


class MakeCall(BaseModel):
    """``{"action":"makecall","prompt":…,"timezone":…}``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        clock.zone(value)  # raises BadTimezone (a ValueError) with a clear message
        return value


class VerificationMethod(BaseModel):
    """How and where the call can be checked."""

    model_config = ConfigDict(extra="forbid")

    source: list[Item] = Field(
        min_length=1, max_length=4, description="Named outlets or datasets that publish it."
    )
    criteria: list[Item] = Field(
        min_length=1, max_length=4, description="The observed outcome that makes the call true."
    )
    steps: list[Item] = Field(
        min_length=1, max_length=5, description="What a person does, in order, to verify it."
    )

    @field_validator("source", "criteria", "steps")
    @classmethod
    def _no_blank_items(cls, items: list[str]) -> list[str]:
        cleaned = [item.strip() for item in items if item and item.strip()]
        if not cleaned:
            raise ValueError("must contain at least one non-empty item")
        return cleaned


class PredictionRecord(BaseModel):
    """The verifiable record of a call (the ``complete`` frame's content)."""

    model_config = ConfigDict(extra="forbid")

    prediction_statement: str = Field(
        min_length=1, max_length=500, description="The prediction restated precisely."
    )
    verification_date: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date (YYYY-MM-DD) when it can be checked."
    )
    verification_method: VerificationMethod
    initial_status: Literal["pending"] = "pending"

    @field_validator("verification_date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        dt.date.fromisoformat(value)
        return value
