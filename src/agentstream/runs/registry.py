"""The runs a process holds, found by id and guarded by owner.

Resume and cancel by anyone but a run's owner get the same answer as an unknown id, so run ids
leak nothing. A run whose subscribers all left is *detached*, not cancelled: it keeps going for a
grace period so its owner can resume it, and is cancelled only if nobody does.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agentstream.runs.run import Run

logger = logging.getLogger(__name__)


class RunRegistry:
    """Live and recently finished runs of this process."""

    def __init__(self, *, detach_grace: float = 60.0, keep_finished: float = 600.0) -> None:
        """``detach_grace``: seconds an abandoned run goes on; ``keep_finished``: replay window."""
        self.detach_grace = detach_grace
        self.keep_finished = keep_finished
        self._runs: dict[str, Run] = {}
        self._ended_at: dict[str, float] = {}
        self._reapers: dict[str, asyncio.TimerHandle] = {}

    def add(self, run: Run) -> Run:
        """Register a new run."""
        self._prune()
        self._runs[run.id] = run
        asyncio.get_running_loop().create_task(self._on_done(run))
        return run

    async def _on_done(self, run: Run) -> None:
        await run.wait()
        self._ended_at[run.id] = time.monotonic()
        self._cancel_reaper(run.id)

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
        for run_id in [r for r, t in self._ended_at.items() if t < horizon]:
            self._ended_at.pop(run_id, None)
            self._runs.pop(run_id, None)

    def active(self) -> list[Run]:
        """Runs still streaming."""
        return [run for run in self._runs.values() if not run.finished]

    async def cancel_all(self, reason: str = "Server shutting down") -> None:
        """Cancel every live run and wait for them to end."""
        runs = self.active()
        for run in runs:
            run.cancel(reason, grace=0.5)
        if runs:
            await asyncio.gather(*(run.wait() for run in runs))

    def __len__(self) -> int:
        """How many runs are held."""
        return len(self._runs)
