"""The title chat's request: ``{"action": "stream", "projectId", "userInput", "chat_history"}``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_INPUT_CHARS = 4000
PROJECT_ID = r"^[A-Za-z0-9._:@+=/-]{1,100}$"


class ChatTurn(BaseModel):
    """One message of ``chat_history`` as the seed's client keeps it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_INPUT_CHARS * 4)

    @field_validator("role", mode="before")
    @classmethod
    def _bot_is_assistant(cls, value: Any) -> Any:
        return "assistant" if value in ("ai", "bot", "model") else value


class StreamTitles(BaseModel):
    """Generate titles for ``userInput`` in the conversation of project ``projectId``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    projectId: str = Field(pattern=PROJECT_ID)  # noqa: N815
    userInput: str = Field(min_length=1, max_length=MAX_INPUT_CHARS)  # noqa: N815
    chat_history: list[ChatTurn] = Field(default_factory=list, max_length=100)


class History(BaseModel):
    """``{"action": "history", "projectId"}``: the project's stored conversation."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    projectId: str = Field(pattern=PROJECT_ID)  # noqa: N815
