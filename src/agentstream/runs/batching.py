"""One background task that writes a process's pending work in batches: recording, rows.

The run recorder and the connection rows share this loop: while its owner has work, it calls
``write()`` every ``interval`` seconds, or ``linger`` seconds after :meth:`BatchLoop.wake` (a
run started or ended, someone waits), so a burst shares one batch; with no work left the task
ends, and the next :meth:`BatchLoop.start` makes a new one. Why one task per process rather
than one per run or socket: at a thousand short streams the tasks and the store calls per
stream, not the events, were the cost (``bench/streams.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class BatchLoop:
    """Calls ``write()`` in one task while ``busy()`` says there is work."""

    def __init__(
        self,
        write: Callable[[], Awaitable[None]],
        busy: Callable[[], bool],
        *,
        interval: float,
        linger: float,
        name: str,
    ) -> None:
        """Batch with ``write``; ``busy`` is checked before each batch and ends the task."""
        self._write, self._busy = write, busy
        self.interval, self.linger, self.name = interval, linger, name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._bound: asyncio.AbstractEventLoop | None = None  # the loop the task runs on

    def start(self) -> bool:
        """Make sure the task runs; True when it moved to a new event loop.

        Another loop (a test's, a Lambda invocation's) may have run the task and died with
        it: the owner then drops the work it kept for that loop.
        """
        loop = asyncio.get_running_loop()
        moved = self._bound is not None and self._bound is not loop
        if self._bound is not loop:
            self._bound, self._task, self._wake = loop, None, asyncio.Event()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)
        return moved

    def wake(self) -> None:
        """Write soon (after ``linger``) rather than at the next interval."""
        self._wake.set()

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait (at most ``timeout_s``) until no work is left; False if time ran out."""
        task = self._task
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        return bool(done)

    async def _loop(self) -> None:
        try:
            while self._busy():
                if not self._wake.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.interval):  # no task per wait
                            await self._wake.wait()
                if self.linger:
                    await asyncio.sleep(self.linger)  # a burst of starts and ends shares a batch
                self._wake.clear()
                await self._write()
        finally:
            self._task = None
