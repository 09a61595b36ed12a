"""The verification agent: it reads a logged call's record and proposes a verdict.

The model proposes; code decides what may be stored. A verdict of ``verified_true`` or
``verified_false`` needs evidence, and evidence can only come from a tool that reaches the outside
world (a search, a price feed). Out of the box the agent has none, only ``current_time``, so
:func:`settle_verdict` records ``inconclusive`` with empty evidence and reasoning that tells a
person what to check, taken from the record's ``verification_method``. A small model that
"remembers" the S&P 500's close would otherwise invent it.

Evidence tools are a seam: pass them to :class:`Verifier` (the server reads
``services.evidence_tools``), and the agent may then return a verified status, provided it
cites evidence. The agent runs through :class:`~agentstream.agents.invoke.AgentRun`, like every
app's agent: the run's cancel signal, the token limit and the structured output are handled there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentstream import clock
from agentstream.agents.invoke import AgentRun, agent_model
from agentstream.errors import AppError
from agentstream.gateway.context import RouteContext
from agentstream.protocol.events import Event

logger = logging.getLogger(__name__)

MAX_REASONING_CHARS = 4000
MAX_EVIDENCE = 10

SYSTEM_PROMPT = """\
You are CalledIt's verifier. A user logged a call (a prediction) together with a record that says
how to check it, and its verification date has come. Decide whether the call came true.

1. Call current_time to learn today's date.
2. If you have a tool that can look up the outcome in the record's sources, use it. Evidence must
   come from a tool result: never from memory, never invented.
3. If no tool can look up the outcome, the status is "inconclusive" and evidence is empty; in the
   reasoning, say what a person should check, following the record's sources and steps.
4. Produce the verdict: status ("verified_true", "verified_false" or "inconclusive"), reasoning,
   and evidence as a list of {source, finding}.
"""


class Evidence(BaseModel):
    """One piece of evidence: where it was found and what it says."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: str = Field(
        min_length=1, max_length=500, description="Where it was found: a named source or a URL."
    )
    finding: str = Field(
        min_length=1, max_length=2000, description="What the source says, quoted or summarised."
    )


class Verdict(BaseModel):
    """The outcome of checking a call: ``{status, reasoning, evidence[]}``."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["verified_true", "verified_false", "inconclusive"] = Field(
        description="verified_true, verified_false, or inconclusive when it cannot be checked."
    )
    reasoning: str = Field(
        default="", max_length=MAX_REASONING_CHARS, description="Why, in a few sentences."
    )
    evidence: list[Evidence] = Field(
        default_factory=list,
        max_length=MAX_EVIDENCE,
        description="What tool results showed; empty if none.",
    )


class VerifyCall(BaseModel):
    """``{"action":"verify","callId":…,"force"?:false,"timezone"?:"UTC"}``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    call_id: str = Field(
        alias="callId", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    force: bool = False
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        clock.zone(value)  # raises BadTimezone (a ValueError) with a clear message
        return value


class NoVerdict(AppError):
    """The agent stopped without producing a verdict."""

    code: ClassVar[str] = "no_verdict"
    http_status: ClassVar[int] = 500


# --- what code allows ------------------------------------------------------------------------


def manual_check(record: dict[str, Any]) -> str:
    """What a person should do to verify ``record``, from its ``verification_method``."""
    method = record.get("verification_method") or {}
    sources = "; ".join(method.get("source") or []) or "the sources named in the call"
    criteria = "; ".join(method.get("criteria") or []) or record.get("prediction_statement", "")
    steps = " ".join(f"{i}) {step}" for i, step in enumerate(method.get("steps") or [], 1))
    text = f"To verify it by hand, look at: {sources}. It came true if: {criteria}."
    return f"{text} Steps: {steps}" if steps else text


def settle_verdict(
    proposed: Verdict | None, record: dict[str, Any], *, can_gather: bool
) -> Verdict:
    """The verdict that may be stored, whatever the model proposed.

    Args:
        proposed: The model's structured output (None when it produced none).
        record: The call's record.
        can_gather: Whether the agent had a tool that reaches the outside world.

    Raises:
        NoVerdict: The model produced no verdict at all.
    """
    if proposed is None:
        raise NoVerdict("the verification agent stopped without a verdict")
    if not can_gather:
        if proposed.status != "inconclusive" or proposed.evidence:
            logger.warning(
                "verdict=%s evidence=%d | no evidence tool; recorded as inconclusive",
                proposed.status,
                len(proposed.evidence),
            )
        reason = (
            "No tool that can reach the outside world was available, so this call was not "
            "checked automatically. "
        )
        return Verdict(status="inconclusive", reasoning=reason + manual_check(record))
    if proposed.status != "inconclusive" and not proposed.evidence:
        logger.warning("verdict=%s | no evidence cited; recorded as inconclusive", proposed.status)
        reason = (
            f"The agent answered {proposed.status} without citing evidence, so it is not "
            "recorded as verified. "
        )
        return Verdict(status="inconclusive", reasoning=reason + manual_check(record))
    return proposed


# --- the agent -------------------------------------------------------------------------------


def user_prompt(record: dict[str, Any], tool_names: Sequence[str]) -> str:
    """The user turn: the record to check and the tools the agent has."""
    return (
        f"The call: {record.get('prediction_statement')}\n"
        f"Verification date: {record.get('verification_date')}\n"
        f"How to verify it: {json.dumps(record.get('verification_method') or {})}\n"
        f"Your tools: {', '.join(tool_names) or 'none'}.\n"
        "Check whether the call came true and give your verdict."
    )


def build_agent(model: Any, evidence_tools: Sequence[Any] = ()) -> Any:
    """A verification agent on ``model``: ``current_time`` plus any evidence tools."""
    from strands import Agent

    from agentstream.agents.tools import current_time

    return Agent(
        model=model,
        tools=[current_time, *evidence_tools],
        system_prompt=SYSTEM_PROMPT,
        callback_handler=None,
    )


class Verifier:
    """One verification of a record in a run: stream :meth:`events`, then read :attr:`verdict`."""

    def __init__(
        self,
        ctx: RouteContext,
        record: dict[str, Any],
        model: Any,
        *,
        evidence_tools: Sequence[Any] = (),
    ) -> None:
        """Check ``record`` in ``ctx``'s run with an agent on ``model`` and the evidence tools."""
        self.record = record
        self.evidence_tools = list(evidence_tools)
        self.verdict: Verdict | None = None
        names = ["current_time", *(_tool_name(t) for t in self.evidence_tools)]
        self._run = AgentRun(
            ctx,
            build_agent(model, self.evidence_tools),
            user_prompt(record, names),
            output_model=Verdict,
        )

    async def events(self) -> AsyncIterator[Event]:
        """Tool use and text as they happen; :attr:`verdict` is set once they end.

        Raises:
            NoVerdict: The agent stopped without a verdict.
            TokenLimit: The answer hit the token limit.
            asyncio.CancelledError: The run was cancelled (the run reports it, once).
        """
        async for event in self._run.events():
            yield event
        output = self._run.structured_output
        proposed = output if isinstance(output, Verdict) else None
        self.verdict = settle_verdict(proposed, self.record, can_gather=bool(self.evidence_tools))


def _tool_name(tool: Any) -> str:
    return str(getattr(tool, "tool_name", None) or getattr(tool, "__name__", "tool"))


def verifier_model(ctx: RouteContext, record: dict[str, Any]) -> Any:
    """The run's model; the ``scripted`` model plays :func:`scripted_turns` for ``record``."""
    return agent_model(ctx, scripted=lambda: scripted_turns(record))


# --- the scripted verifier -------------------------------------------------------------------


def _today(messages: list[dict[str, Any]]) -> str | None:
    """The date in the first tool result, if the conversation has one."""
    for message in messages:
        for block in message.get("content") or []:
            result = block.get("toolResult")
            if result is None:
                continue
            text = "".join(c.get("text", "") for c in result.get("content") or [])
            try:
                return str(json.loads(text).get("date"))
            except (ValueError, AttributeError):
                return "today"
    return None


def scripted_turns(record: dict[str, Any]) -> list[Any]:
    """One reactive turn function: check the date, then say what cannot be checked and why."""
    sources = (record.get("verification_method") or {}).get("source") or ["the sources"]

    def turn(messages: list[dict[str, Any]], *_: Any) -> list[dict[str, Any]]:
        today = _today(messages)
        if today is None:
            return [
                {"text": "Let me check today's date against the verification date. "},
                {"tool": "current_time", "input": {"timezone": "UTC"}},
            ]
        verdict = {
            "status": "inconclusive",
            "evidence": [],
            "reasoning": f"I have no tool that can look up {sources[0]}.",
        }
        return [
            {
                "text": f"Today is {today}; the call was due on {record.get('verification_date')}. "
                f"I have no tool that can reach {sources[0]}, so I can't look up the outcome "
                "myself. I'll say what a person should check."
            },
            {"tool": "Verdict", "input": verdict},
        ]

    return [turn]
