"""IdleWatch: one timer per socket times out idle receives, and nothing else."""

from __future__ import annotations

import asyncio

import pytest

from agentstream.gateway.idle import IdleWatch


async def test_a_receive_that_waits_the_whole_period_times_out() -> None:
    """A receive with nothing to receive for idle_s raises TimeoutError."""
    watch = IdleWatch(0.05, lambda: False)
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await watch.receive(never)
    watch.close()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_messages_that_keep_coming_keep_the_socket_open() -> None:
    """Receives shorter than idle_s, over several periods in all, never time out."""
    watch = IdleWatch(0.1, lambda: False)
    for _ in range(8):  # 0.24 s in all: over two periods
        assert await watch.receive(asyncio.sleep(0.03, "message")) == "message"
        await asyncio.sleep(0.005)  # handling the message: the watch does not count it
    watch.close()


async def test_a_busy_socket_is_not_idle() -> None:
    """While busy() holds (a run streams to the socket), a quiet receive is not timed out."""
    busy = True
    watch = IdleWatch(0.03, lambda: busy)
    assert await watch.receive(asyncio.sleep(0.15, "late")) == "late"
    busy = False
    with pytest.raises(TimeoutError):
        await watch.receive(asyncio.get_running_loop().create_future())
    watch.close()


async def test_a_cancel_from_outside_is_a_cancel_not_a_timeout() -> None:
    """The task cancelled by someone else gets CancelledError, even past the idle period."""

    async def receiving() -> None:
        watch = IdleWatch(10, lambda: False)
        try:
            await watch.receive(asyncio.get_running_loop().create_future())
        finally:
            watch.close()

    task = asyncio.create_task(receiving())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_closed_watch_times_nothing_out() -> None:
    """After close(), the watch's timer is gone: a later wait on the task is left alone."""
    watch = IdleWatch(0.02, lambda: False)
    watch.close()
    assert await asyncio.wait_for(asyncio.sleep(0.08, "done"), 1) == "done"
