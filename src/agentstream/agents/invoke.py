"""The one way an app runs an agent: model from the context, token limit, structured output, cancel.

Every app's run handler does the same few things around a Strands agent, so they live here:

- :func:`agent_model` makes the run's model (the kind the server was started with) and applies
  the settings the app wants *if that model has them* (``max_tokens``, ``max_tool_calls``,
  ``tool_plan``…): a Bedrock model has no ``max_tool_calls``, the scripted one has nothing;
- :class:`AgentRun` streams the agent as our events (``runner.py``), with the structured result's
  partial state, and maps how the agent stopped:

  - the token limit (Strands' ``MaxTokensReachedException``) is a clear :class:`TokenLimit` error,
    or, for apps that keep what was written (``keep_truncated=True``), sets ``truncated``;
  - the run's cancel signal is passed to Strands (which stops the model at its next token); when
    the stream ends because the run was cancelled, ``events()`` raises ``asyncio.CancelledError``,
    so the app's code after the loop (saving history, building a result) never runs and the run
    reports the cancellation once, in ``runs/run.py``. No app re-checks the signal;
  - :meth:`AgentRun.stop` ends the model early when the app has all it needs (``agent.cancel()``),
    which is not a cancellation of the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pydantic import BaseModel

from agentstream.agents.runner import AgentStream
from agentstream.gateway.context import RouteContext
from agentstream.models.engine import ModelError
from agentstream.protocol.events import Event

logger = logging.getLogger(__name__)

__all__ = ["AgentRun", "TokenLimit", "agent_model", "warm_agent"]


class TokenLimit(ModelError):
    """The model reached its token limit before it finished its answer."""

    code: ClassVar[str] = "max_tokens"


def agent_model(ctx: RouteContext, *, scripted: Any = None, **settings: Any) -> Any:
    """A fresh model for this run, with those of ``settings`` that the model understands.

    Args:
        ctx: The route context (names the model the server runs).
        scripted: Turns for the scripted model (see :meth:`RouteContext.model`).
        **settings: Model settings such as ``max_tokens=200``; a setting the model's config does
            not have is skipped (it means nothing to that provider).

    Returns:
        A Strands ``Model``.
    """
    model = ctx.model(scripted=scripted)
    known = model.get_config() or {}
    updates = {key: value for key, value in settings.items() if key in known}
    if updates:
        model.update_config(**updates)
    return model


class AgentRun(AgentStream):
    """One agent invocation inside a run: its events, then its result or a clear error."""

    def __init__(
        self,
        ctx: RouteContext,
        agent: Any,
        prompt: Any,
        *,
        output_model: type[BaseModel] | None = None,
        keep_truncated: bool = False,
    ) -> None:
        """Prepare to run ``agent`` on ``prompt`` for the run in ``ctx``.

        Args:
            ctx: The route context: its run's cancel signal and id.
            agent: A Strands ``Agent``.
            prompt: What to send it.
            output_model: The structured result's pydantic model, if the agent must produce one.
            keep_truncated: At the token limit, end quietly with ``truncated`` set (the app
                keeps the text written so far) instead of raising :class:`TokenLimit`.
        """
        super().__init__(
            agent,
            prompt,
            structured_output_model=output_model,
            cancel_signal=ctx.cancel_signal,
            message_prefix=ctx.run.id if ctx.run is not None else "msg",
        )
        self.ctx = ctx
        self.keep_truncated = keep_truncated
        self.truncated = False

    @property
    def cancelled(self) -> bool:
        """True once the run was asked to stop."""
        signal = self.ctx.cancel_signal
        return bool(signal is not None and signal.is_set())

    def stop(self) -> None:
        """End the model's answer now: the app has what it needs (not a cancel of the run)."""
        self.agent.cancel()

    async def events(self) -> AsyncIterator[Event]:
        """The agent's events in order.

        Raises:
            TokenLimit: The answer hit the token limit (unless ``keep_truncated``).
            asyncio.CancelledError: The run was cancelled while the agent worked.
        """
        from strands.types.exceptions import MaxTokensReachedException

        try:
            async for event in super().events():
                yield event
        except MaxTokensReachedException as exc:
            if not self.keep_truncated:
                raise TokenLimit(
                    "the model reached its token limit before it finished its answer"
                ) from exc
            logger.info("run=%s | answer cut at the token limit", self._prefix)
            self.truncated = True
        if self.cancelled:
            raise asyncio.CancelledError


async def warm_agent(agent: Any, output_model: type[BaseModel] | None = None) -> int:
    """Have ``agent``'s model read the agent's fixed prompt prefix now, if it can cache one.

    Only the local model can (a remote provider caches, or not, on its side). The tools are
    listed as Strands offers them: the agent's tools, then the structured-output tool.

    Returns:
        Prompt tokens read (0 when the model has nothing to warm).
    """
    warm = getattr(agent.model, "warm", None)
    if warm is None:
        return 0
    from strands.tools.structured_output.structured_output_utils import (
        convert_pydantic_to_tool_spec,
    )

    specs = list(agent.tool_registry.get_all_tool_specs())
    if output_model is not None:
        specs.append(convert_pydantic_to_tool_spec(output_model))
    return int(await warm(agent.system_prompt, specs))
