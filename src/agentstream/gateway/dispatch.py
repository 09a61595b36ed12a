"""One place that acts on a command, whatever transport it came from.

The WebSocket transport, ``POST /api/invoke``, ``POST /api/runs`` and an app's own HTTP door all
parse a message with :func:`agentstream.gateway.messages.parse` and hand the command to
:meth:`Dispatcher.dispatch` with a :class:`Peer`: the one asking, which takes the run's events
(``deliver``) and the control answers (``answer``). No socket and no HTTP here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol, cast

from agentstream.errors import AgentstreamError
from agentstream.gateway.context import ReplyContext, RouteContext, Services
from agentstream.gateway.limits import Limits, RateLimited
from agentstream.gateway.messages import Cancel, Command, Ping, Reply, Resume, StartRun
from agentstream.gateway.metrics import Metrics
from agentstream.gateway.routes import AgentApp, ReplyHandler, Route, RunHandler
from agentstream.gateway.settings import Settings
from agentstream.protocol.control import (
    CancelAnswer,
    Control,
    ErrorAnswer,
    Pong,
    ReplyAnswer,
    RequestId,
    ResumeAnswer,
)
from agentstream.protocol.events import Event
from agentstream.runs.log import LogGap
from agentstream.runs.recorder import Recorder, replay_state, stored_events
from agentstream.runs.registry import RunRegistry
from agentstream.runs.run import Run

if TYPE_CHECKING:
    from agentstream.cluster.remote import RemoteRuns

logger = logging.getLogger(__name__)


class Peer(Protocol):
    """Who sent a command, and where its answers go."""

    connection_id: str
    user: str
    # Runs this peer streams (the WebSocket detaches them when it goes).
    runs: set[str]

    def deliver(self, event: Event) -> None:
        """Take one event of a run; must not block."""
        ...

    def answer(self, control: Control) -> None:
        """Take one control answer; must not block."""
        ...


class Dispatcher:
    """The app, its settings, the live runs and the services: what a command acts on."""

    def __init__(self, app: AgentApp, settings: Settings) -> None:
        """Serve ``app`` with ``settings``."""
        self.app = app
        self.settings = settings
        self.services = Services(
            runs=RunRegistry(
                detach_grace=settings.detach_grace_s,
                max_finished=settings.max_finished_runs,
                max_active_per_user=settings.max_active_runs_per_user,
            )
        )
        self.limits = Limits(settings)
        # Runs on other nodes of a cluster (set when the store is Redis; see agentstream.cluster).
        self.remote: RemoteRuns | None = None
        # Set by the transport that exposes /metrics; None counts nothing.
        self.metrics: Metrics | None = None
        # Writes every run's events to the store (made with the first run, as the store is
        # opened after this); shutdown waits for it before it closes the store.
        self.recorder: Recorder | None = None

    @property
    def runs(self) -> RunRegistry:
        """The runs this process holds."""
        return self.services.runs

    def reply_context(
        self, user: str, connection_id: str, action: str | None = None
    ) -> ReplyContext:
        """The context a reply route (or a connect hook) of ``user`` gets."""
        return ReplyContext(
            connection_id=connection_id,
            user=user,
            settings=self.settings,
            services=self.services,
            action=action,
        )

    async def dispatch(self, command: Command, peer: Peer) -> Run | None:
        """Act on ``command`` from ``peer``; returns the run it started, if any.

        Raises:
            AgentstreamError: a reply route refused the request (the transport answers it).
        """
        match command:
            case Ping(request_id=request_id):
                peer.answer(Pong(request_id=request_id))
            case Cancel() if self.remote and not self.runs.get(command.run_id, peer.user):
                await self.remote.cancel(command.run_id, peer, command.request_id)
            case Cancel():
                self.cancel(command, peer)
            case Resume():
                await self.resume(command, peer)
            case Reply():
                await self.reply(command, peer)
            case StartRun():
                run = self.launch(command, peer.user, peer.connection_id, subscriber=peer)
                peer.runs.add(run.id)
                return run
        return None

    async def reply(self, command: Reply, peer: Peer) -> None:
        """Run a reply route and answer ``<action>_result``."""
        body = await self.run_reply(command, peer.user, peer.connection_id)
        peer.answer(
            ReplyAnswer(action=command.route.action, body=body, request_id=command.request_id)
        )

    async def run_reply(self, command: Reply, user: str, connection_id: str) -> dict[str, Any]:
        """What the reply route answers ``user`` (an empty object when it returns None)."""
        ctx = self.reply_context(user, connection_id, command.action)
        handler = cast(ReplyHandler, command.route.handler)
        body = await handler(command.request, ctx)
        return dict(body or {})

    def launch(
        self,
        command: StartRun,
        user: str,
        connection_id: str,
        *,
        subscriber: Any = None,
    ) -> Run:
        """Create, register, record and start a run of ``command`` for ``user``.

        Raises:
            TooManyRuns: ``user`` already holds as many live runs as allowed.
            RateLimited: ``user`` started as many runs as allowed in the last minute.
        """
        run = self._admit(user)
        route: Route = command.route
        ctx = RouteContext(
            connection_id=connection_id,
            user=user,
            settings=self.settings,
            services=self.services,
            action=command.action,
            run=run,
        )
        self.runs.add(run)
        if self.metrics is not None:
            self.metrics.track(run)
        if subscriber is not None:
            run.subscribe(subscriber)
        if self.services.store is not None:
            self._recorder_for(self.services.store).record(run)
        started_with = {
            "action": route.action,
            "requestId": command.request_id,
            **command.request.model_dump(mode="json"),
        }
        handler = cast(RunHandler, route.handler)
        run.start(lambda _run: handler(command.request, ctx), input=started_with)
        logger.info("conn=%s run=%s action=%s | run started", connection_id, run.id, route.action)
        return run

    def _recorder_for(self, store: Any) -> Recorder:
        recorder = self.recorder
        if recorder is None or recorder.store is not store:
            observe = self.metrics.store_write.observe if self.metrics is not None else None
            recorder = Recorder(store, ttl_s=self.settings.run_ttl_s, observe=observe)
            self.recorder = recorder
        return recorder

    async def finish_recording(self, timeout_s: float = 5.0) -> None:
        """Wait (at most ``timeout_s``) until the recorder wrote every run's last events."""
        recorder = self.recorder
        if recorder is not None and not await recorder.drain(timeout_s):
            late = recorder.recording
            logger.warning("shutdown | %d runs' last events were not recorded", late)

    def _admit(self, user: str) -> Run:
        """A new run of ``user`` counted against every limit, or the limit it breaks raised."""
        self.runs.check_quota(user)
        run = Run(owner=user, app=self.app.name, log_capacity=self.settings.log_capacity)
        self.limits.take_live(user, run.id)  # cluster-wide live runs (a no-op on one process)
        try:
            self.limits.hit_run(user)
        except RateLimited:
            self.limits.end_live(user, run.id)
            raise
        run.on_end(lambda ended: self.limits.end_live(ended.owner, ended.id))
        return run

    def cancel(self, command: Cancel, peer: Peer) -> None:
        """Cancel one of ``peer``'s runs and say what happened."""
        run = self.runs.get(command.run_id, peer.user)
        if run is None:
            state, message = "unknown", "no such run"
        elif run.cancel():
            state, message = "cancelling", "cancelling"
        else:
            state, message = run.state.value, f"run already {run.state.value}"
        peer.answer(
            CancelAnswer(
                run_id=command.run_id, state=state, message=message, request_id=command.request_id
            )
        )

    async def resume(self, command: Resume, peer: Peer) -> None:
        """Answer with the run's state, replay what ``peer`` missed, then stream the rest."""
        run = self.runs.get(command.run_id, peer.user)
        if run is None:
            await self._resume_from_store(command, peer)
            return
        # Send the answer first; subscribe() then replays and attaches in one synchronous step.
        peer.answer(self._resumed(command, run.state.value))
        try:
            run.subscribe(peer, after_seq=command.last_seq)
        except LogGap as exc:
            peer.answer(self._resumed(command, "expired", message=str(exc), with_seq=False))
            return
        peer.runs.add(run.id)
        self.runs.attached(run)

    async def _resume_from_store(self, command: Resume, peer: Peer) -> None:
        """Replay a run this process no longer holds (finished long ago, or before a restart)."""
        if self.remote is not None:  # in a cluster, the run may live on another node
            await self.remote.resume(command.run_id, command.last_seq, peer, command.request_id)
            return
        store = self.services.store
        row = await store.get_run(command.run_id) if store is not None else None
        if store is None or row is None or row.owner != peer.user:
            peer.answer(self._resumed(command, "unknown"))
            return
        events = await stored_events(store, command.run_id, command.last_seq)
        peer.answer(self._resumed(command, replay_state(row.state, events)))
        for event in events:
            peer.deliver(event)

    @staticmethod
    def _resumed(
        command: Resume, state: str, *, message: str | None = None, with_seq: bool = True
    ) -> ResumeAnswer:
        return ResumeAnswer(
            run_id=command.run_id,
            state=state,
            last_seq=command.last_seq if with_seq else None,
            message=message,
            request_id=command.request_id,
        )


def error_answer(exc: AgentstreamError, request_id: RequestId = None) -> ErrorAnswer:
    """The control answer for an error a command raised (with ``retryAfter`` for a rate limit)."""
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    return ErrorAnswer(
        message=str(exc), code=exc.code, request_id=request_id, retry_after=retry_after
    )
