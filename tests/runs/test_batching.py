"""The batch loop writes while there is work, sooner when woken, and ends when there is none."""

from __future__ import annotations

import asyncio
import time

from agentstream.runs.batching import BatchLoop


class Work:
    def __init__(self) -> None:
        self.items: list[int] = []
        self.batches: list[list[int]] = []
        self.at: list[float] = []

    async def write(self) -> None:
        self.batches.append(self.items)
        self.at.append(time.monotonic())
        self.items = []


async def test_items_added_together_go_in_one_batch_and_the_task_ends() -> None:
    """A burst woken once is one batch after the linger; with no work left the task ends."""
    work = Work()
    loop = BatchLoop(work.write, lambda: bool(work.items), interval=10, linger=0.01, name="t")
    work.items += [1, 2, 3]
    loop.start()
    loop.wake()
    work.items.append(4)
    assert await loop.drain(5)
    assert work.batches == [[1, 2, 3, 4]]


async def test_without_a_wake_it_writes_at_the_interval() -> None:
    """Unwoken, the first batch waits for the interval."""
    work = Work()
    loop = BatchLoop(work.write, lambda: bool(work.items), interval=0.2, linger=0, name="t")
    work.items.append(1)
    started = time.monotonic()
    loop.start()
    assert not await loop.drain(0.05)  # still waiting for the interval
    assert await loop.drain(5)
    assert work.at[0] - started >= 0.19


def test_start_on_a_new_event_loop_says_so_and_runs_there() -> None:
    """A loop whose task died with its event loop starts afresh on the next one."""
    work = Work()
    loop = BatchLoop(work.write, lambda: bool(work.items), interval=10, linger=0, name="t")

    async def first() -> bool:
        work.items.append(1)
        return loop.start()  # the event loop ends before the interval

    async def second() -> bool:
        work.items.append(2)
        moved = loop.start()
        loop.wake()
        assert await loop.drain(5)
        return moved

    assert asyncio.run(first()) is False
    assert asyncio.run(second()) is True
    assert work.batches == [[1, 2]]
