"""The runs a process holds, found by id and guarded by owner.

Resume and cancel by anyone but a run's owner get the same answer as an unknown id, so run ids
leak nothing. A run whose subscribers all left is *detached*, not cancelled: it keeps going for a
grace period so its owner can resume it, and is cancelled only if nobody does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from agentstream.errors import AgentstreamError
from agentstream.runs.core import RunCore
from agentstream.runs.run import Run

logger = logging.getLogger(__name__)

# How long shutdown waits for cancelled runs to publish their end before it goes on anyway.
SHUTDOWN_WAIT_S = 5.0


class TooManyRuns(AgentstreamError):
    """The user already has as many live runs as one user may hold."""

    code: ClassVar[str] = "too_many_runs"
    http_status: ClassVar[int] = 429


class RunRegistry:
    """Live and recently finished runs of this process."""

    def __init__(
        self,
        *,
        detach_grace: float = 60.0,
        keep_finished: float = 600.0,
        max_finished: int = 1000,
        max_active_per_user: int = 20,
    ) -> None:
        """Hold runs of this process.

        Args:
            detach_grace: Seconds an abandoned run goes on before it is cancelled.
            keep_finished: Seconds a finished run stays in memory for replay (the store keeps
                it longer).
            max_finished: At most this many finished runs stay in memory (oldest go first).
            max_active_per_user: Live runs one user may hold; one more raises TooManyRuns.
        """
        self.detach_grace = detach_grace
        self.keep_finished = keep_finished
        self.max_finished = max_finished
        self.max_active_per_user = max_active_per_user
        self._runs: dict[str, Run] = {}
        # (monotonic end time, run id) in end order: pruned from the front in O(1). (A dict
        # pruned from its front makes each lookup of its first key walk the deleted slots.)
        self._ended_at: deque[tuple[float, str]] = deque()
        self._reapers: dict[str, asyncio.TimerHandle] = {}
        # Live run ids per owner, kept as runs start and end: the quota check and active() must
        # not walk every held run (a 1000-stream burst made that quadratic).
        self._live: dict[str, dict[str, Run]] = {}
        self._idle_callbacks: list[Callable[[], None]] = []

    def check_quota(self, user: str) -> None:
        """Raise TooManyRuns when ``user`` may not start another run now."""
        live = len(self._live.get(user, ()))
        if live >= self.max_active_per_user:
            raise TooManyRuns(
                f"too many runs in progress ({live}; the limit is {self.max_active_per_user})"
            )

    def add(self, run: Run) -> Run:
        """Register a new run."""
        self._prune()
        self._runs[run.id] = run
        if run.finished:
            self._ended(run)
        else:
            self._live.setdefault(run.owner, {})[run.id] = run
            # A callback, not a task awaiting the run: one task fewer per run.
            run.on_end(self._ended)
        return run

    def on_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` each time the last live run ends (from inside that run's end)."""
        self._idle_callbacks.append(callback)

    def _ended(self, run: RunCore) -> None:
        live = self._live.get(run.owner)
        if live is not None:
            live.pop(run.id, None)
            if not live:
                del self._live[run.owner]
        self._ended_at.append((time.monotonic(), run.id))
        self._cancel_reaper(run.id)
        if not self._live:
            for callback in self._idle_callbacks:
                try:
                    callback()
                except Exception:  # an observer's bug must not stop the run's end
                    logger.exception("run=%s | an idle callback failed", run.id)

    def get(self, run_id: str, user: str) -> Run | None:
        """The run ``run_id`` if ``user`` owns it, else None (unknown and foreign look alike)."""
        run = self._runs.get(run_id)
        if run is None or run.owner != user:
            return None
        return run

    def detached(self, run: Run) -> None:
        """Its last subscriber left: cancel it after the grace period unless someone resumes."""
        if run.finished or run.subscriber_count or run.id in self._reapers:
            return
        loop = asyncio.get_running_loop()
        self._reapers[run.id] = loop.call_later(self.detach_grace, self._reap, run)
        logger.info("run=%s | detached; cancel in %.0fs unless resumed", run.id, self.detach_grace)

    def attached(self, run: Run) -> None:
        """Someone resumed the run: keep it alive."""
        self._cancel_reaper(run.id)

    def _cancel_reaper(self, run_id: str) -> None:
        handle = self._reapers.pop(run_id, None)
        if handle is not None:
            handle.cancel()

    def _reap(self, run: Run) -> None:
        self._reapers.pop(run.id, None)
        if run.subscriber_count == 0 and run.cancel("Nobody resumed the run after a disconnect"):
            logger.info("run=%s | cancelled after detach grace", run.id)

    def _prune(self) -> None:
        horizon = time.monotonic() - self.keep_finished
        ended_at = self._ended_at
        # Oldest first: look only at the front (this runs once per run, with thousands kept).
        while ended_at and (ended_at[0][0] < horizon or len(ended_at) > self.max_finished):
            _, run_id = ended_at.popleft()
            self._runs.pop(run_id, None)

    def active(self) -> list[Run]:
        """Runs still streaming."""
        return [run for live in self._live.values() for run in live.values()]

    async def cancel_all(self, reason: str = "Server shutting down") -> None:
        """Cancel every live run and wait for them to end."""
        runs = self.active()
        for run in runs:
            run.cancel(reason, grace=0.5)
        if runs:
            waits = [asyncio.ensure_future(run.wait()) for run in runs]
            _, pending = await asyncio.wait(waits, timeout=SHUTDOWN_WAIT_S)
            for waiter in pending:
                waiter.cancel()
            if pending:
                logger.warning("shutdown | %d runs did not end in time", len(pending))

    def __len__(self) -> int:
        """How many runs are held."""
        return len(self._runs)
