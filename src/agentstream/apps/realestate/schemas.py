"""The orchestrator's request: ``{"action": "invoke", "question", "context"?, "query_type"?}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUESTION_CHARS = 2000


class Invoke(BaseModel):
    """A question for the agents; ``query_type`` picks the specialist (default ``general``)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    context: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS)
    query_type: str = Field(default="general", max_length=40)

    @field_validator("query_type", mode="before")
    @classmethod
    def _normalized(cls, value: Any) -> Any:
        if value is None:
            return "general"
        if isinstance(value, str):
            return "_".join(value.strip().lower().replace("-", " ").split()) or "general"
        return value


class AnyMessage(BaseModel):
    """Whatever an unknown action carried (``$default`` reads none of it)."""

    model_config = ConfigDict(extra="allow")
