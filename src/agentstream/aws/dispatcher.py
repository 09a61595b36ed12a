"""The gateway's :class:`~agentstream.gateway.dispatch.Dispatcher`, with runs held elsewhere.

Inside Lambda the run a ``resume`` or ``cancel`` names is produced by another invocation, so this
subclass answers those two from the ``live_runs`` table (:mod:`agentstream.aws.live`) and the
store's recorded log, with the local gateway's answers: a run of someone else is ``unknown``,
as an id that never existed. Everything else (parsing, routes, replies, starting runs) is the
gateway's own code.
"""

from __future__ import annotations

import logging
from typing import Any

from agentstream.aws.live import RUNNING, LiveRuns, Subscription
from agentstream.aws.peer import LambdaPeer
from agentstream.aws.sender import Sender
from agentstream.gateway.dispatch import Dispatcher, Peer
from agentstream.gateway.messages import Cancel, Command, Resume
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.control import CancelAnswer
from agentstream.runs.recorder import stored_events
from agentstream.runs.run import Run

logger = logging.getLogger(__name__)


class AwsDispatcher(Dispatcher):
    """A dispatcher whose resume and cancel reach runs of other invocations."""

    def __init__(
        self, app: AgentApp, settings: Settings, *, store: Any, live: LiveRuns, sender: Sender
    ) -> None:
        """Serve ``app`` with the DynamoDB ``store``, the ``live`` runs table and ``sender``."""
        super().__init__(app, settings)
        self.services.store = store
        self.live = live
        self.sender = sender

    async def dispatch(self, command: Command, peer: Peer) -> Run | None:
        """As the gateway's, but ``cancel`` reaches a run produced by another invocation."""
        if isinstance(command, Cancel):
            await self.cancel_live(command, peer)
            return None
        return await super().dispatch(command, peer)

    async def cancel_live(self, command: Cancel, peer: Peer) -> None:
        """Raise the run's cancel flag; its producer stops it at its next flush."""
        if await self.live.request_cancel(command.run_id, peer.user):
            state, message = "cancelling", "cancelling"
        else:
            state, message = await self._not_cancelled(command.run_id, peer.user)
        peer.answer(
            CancelAnswer(
                run_id=command.run_id, state=state, message=message, request_id=command.request_id
            )
        )

    async def _not_cancelled(self, run_id: str, user: str) -> tuple[str, str]:
        row = await self.live.read(run_id)
        if row is None or row.owner != user:
            return "unknown", "no such run"
        if row.state == RUNNING:
            return "cancelling", "cancelling"
        store = self.services.store
        recorded = await store.get_run(run_id) if store is not None else None
        state = recorded.state if recorded is not None else row.state
        return str(state), f"run already {state}"

    async def resume(self, command: Resume, peer: Peer) -> None:
        """Subscribe ``peer`` to a running run (its producer replays, then streams), else replay.

        The subscription is added *held*, the answer is posted, and only then released, so the
        producer's replay never reaches the client before the answer does.
        """
        assert isinstance(peer, LambdaPeer)
        sub = Subscription(peer.connection_id, command.last_seq, peer.dialect.name, held=True)
        if not await self.live.subscribe(command.run_id, peer.user, sub):
            await self._resume_from_store(command, peer)
            return
        peer.answer(self._resumed(command, RUNNING))
        await peer.flush(self.sender)
        if await self.live.release(command.run_id, peer.connection_id):
            return
        # It ended between the two updates; the producer skipped us: replay the record here.
        for event in await stored_events(self.services.store, command.run_id, command.last_seq):
            peer.deliver(event)
