"""The strategy builder's request and the ``<backend>`` JSON that drives its UI.

The backend JSON (seed 003)::

    {"account": {"workspace", "section"},
     "flowchart": {"nodes": [{"id", "label", "type"}], "edges": [{"source", "target", "label"}]},
     "degen_class": {"selected": "High" | "Medium" | "Low"},
     "strategy_metrics": {"impact_monthly_return_delta_pct", "estimated_capital_required_usd"},
     "guardrails": {"enabled": [{"name", "status", "value"}]}}

Each top-level part has its own model so a part can be validated (and shown) the moment it is
complete, before the rest of the answer has streamed.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentstream.errors import AppError

MAX_MESSAGE_CHARS = 4000
CONVERSATION_ID = r"^[A-Za-z0-9._:@+=/-]{1,100}$"


class ChatTurn(BaseModel):
    """One earlier message a client sends along (the seed's ``ChatMessage``)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS * 4)


class StrategyChat(BaseModel):
    """``{"message": …, "history"?: […], "conversationId"?: …}`` (``action`` is optional).

    ``messages`` (the seed's ``ChatHistoryRequest``) is accepted instead: its last user turn is
    the message and the turns before it are the history.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    history: list[ChatTurn] | None = Field(default=None, max_length=50)
    messages: list[ChatTurn] | None = Field(default=None, max_length=50)
    conversationId: str = Field(default="default", pattern=CONVERSATION_ID)  # noqa: N815

    @model_validator(mode="after")
    def _message_from_messages(self) -> StrategyChat:
        if not self.message and self.messages:
            last = self.messages[-1]
            if last.role == "user" and last.content.strip():
                self.message = last.content.strip()
                self.history = self.history or self.messages[:-1]
        if not self.message:
            raise ValueError(
                "'message' must be a non-empty string (or send 'messages' ending with a user turn)"
            )
        return self


# --- the backend JSON -----------------------------------------------------------------------


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Account(_Part):
    """Where the strategy is filed."""

    workspace: str = Field(default="", max_length=200)
    section: str = Field(default="", max_length=200)


class Node(_Part):
    """A flowchart box."""

    id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    type: str = Field(default="step", max_length=40)

    @model_validator(mode="before")
    @classmethod
    def _label_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "label" not in data and data.get("id"):
            return {**data, "label": str(data["id"])}
        return data


class Edge(_Part):
    """A flowchart arrow (``from``/``to`` are accepted for ``source``/``target``)."""

    source: str = Field(min_length=1, max_length=64)
    target: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _from_to(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source" not in data and "from" in data:
            return {**data, "source": data["from"], "target": data.get("to")}
        return data


class Flowchart(_Part):
    """The strategy as boxes and arrows."""

    nodes: list[Node] = Field(min_length=1, max_length=40)
    edges: list[Edge] = Field(default_factory=list, max_length=80)

    @model_validator(mode="after")
    def _edges_join_nodes(self) -> Flowchart:
        ids = [node.id for node in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("node ids must be unique")
        for edge in self.edges:
            for end in (edge.source, edge.target):
                if end not in ids:
                    raise ValueError(
                        f"edge {edge.source}->{edge.target} names unknown node {end!r}"
                    )
        return self


class DegenClass(_Part):
    """The risk class."""

    selected: Literal["High", "Medium", "Low"]

    @field_validator("selected", mode="before")
    @classmethod
    def _capitalized(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value


class StrategyMetrics(_Part):
    """The numbers the UI shows."""

    impact_monthly_return_delta_pct: float = Field(ge=-100, le=1000)
    estimated_capital_required_usd: float = Field(ge=0, le=1e12)


class Guardrail(_Part):
    """A safety rule; a bare string is taken as its name."""

    name: str = Field(min_length=1, max_length=120)
    status: Literal["active", "warning", "off"] = "active"
    value: str | float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class Guardrails(_Part):
    """The guardrails switched on."""

    enabled: list[Guardrail] = Field(default_factory=list, max_length=20)


class StrategyJSON(_Part):
    """The whole ``<backend>`` object."""

    account: Account = Field(default_factory=Account)
    flowchart: Flowchart
    degen_class: DegenClass
    strategy_metrics: StrategyMetrics
    guardrails: Guardrails


PARTS: dict[str, type[BaseModel]] = {
    "account": Account,
    "flowchart": Flowchart,
    "degen_class": DegenClass,
    "strategy_metrics": StrategyMetrics,
    "guardrails": Guardrails,
}


class InvalidStrategy(AppError, ValueError):
    """The model's backend part or object failed validation; the message names the fields."""

    code: ClassVar[str] = "invalid_strategy"
    http_status: ClassVar[int] = 500

    def __init__(self, where: str, exc: ValidationError) -> None:
        """Describe ``exc`` for the part ``where``."""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in (where, *err['loc']) if p != '')}: {err['msg']}"
            for err in exc.errors()
        )
        super().__init__(problems)
        self.where = where


def validate_part(key: str, value: Any) -> dict[str, Any] | None:
    """The validated part ``key``, or None when ``key`` is not a part of the strategy.

    Raises:
        InvalidStrategy: The part does not match its schema.
    """
    model = PARTS.get(key)
    if model is None:
        return None
    try:
        return model.model_validate(value).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidStrategy(key, exc) from None


def validate_strategy(value: Any) -> dict[str, Any]:
    """The validated backend object.

    Raises:
        InvalidStrategy: It does not match :class:`StrategyJSON`.
    """
    try:
        return StrategyJSON.model_validate(value).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidStrategy("", exc) from None


class StrategyHistory(BaseModel):
    """``{"action": "history", "conversationId"?}``: the stored chat and its current strategy."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    conversationId: str = Field(default="default", pattern=CONVERSATION_ID)  # noqa: N815
