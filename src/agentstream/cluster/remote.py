"""Resume and cancel a run that another node runs: the run's log in Redis is the bus.

A node asked to resume a run it does not hold reads the run's Redis Stream: first what the client
missed, in bounded chunks (``XRANGE ... COUNT``), then live with ``XREAD BLOCK`` from the last
entry id it sent, until the terminal event. Entry ids are ``<seq>-0``, so "after the last id" is
"after the last seq": nothing is skipped and nothing is sent twice, however the producing node's
batched writes and this node's reads interleave. No message carries a whole replay, so no size
limit of a pub/sub system is ever in play.

While it waits, the follower checks the run's node lease (:class:`~agentstream.cluster.node.
ClusterNode`): a run whose node died is ended with a ``node_lost`` error, which the follower then
reads from the log like any other event, so every follower of that run sees the same end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from agentstream.cluster.node import ClusterNode, lost_error
from agentstream.protocol.control import CancelAnswer, ResumeAnswer
from agentstream.protocol.events import is_terminal, stamp
from agentstream.runs.recorder import decode_row
from agentstream.runs.state import RunState
from agentstream.stores.errors import StoreError
from agentstream.stores.redis import entry_seq

logger = logging.getLogger(__name__)

CHUNK: Final = 256
# Pauses before asking again for a run header not written yet (0.7 s in all).
HEADER_WAITS: Final = (0.1, 0.2, 0.4)


class RemoteRuns:
    """What a node does for runs that live on other nodes."""

    def __init__(self, node: ClusterNode, *, chunk: int = CHUNK) -> None:
        """Serve remote runs through ``node``; replays go ``chunk`` events at a time."""
        self.node = node
        self.store = node.store
        self.chunk = chunk

    @property
    def block_ms(self) -> int:
        """How long one XREAD waits before the follower looks at the node's lease again."""
        return max(50, min(1000, int(self.node.lease * 1000 / 3)))

    async def resume(
        self, run_id: str, last_seq: int, peer: Any, request_id: Any
    ) -> asyncio.Task[None] | None:
        """Answer a resume of a run this node does not hold, then stream it to ``peer``.

        Returns the task following it (done when the run ended or ``peer`` went), or None when
        there is nothing to follow.
        """
        row = await self._find(run_id)
        if row is None or row.owner != peer.user:
            peer.answer(
                ResumeAnswer(
                    run_id=run_id, state="unknown", last_seq=last_seq, request_id=request_id
                )
            )
            return None
        state = await self.node.settle(run_id, last_seq)
        peer.answer(
            ResumeAnswer(
                run_id=run_id, state=state or "unknown", last_seq=last_seq, request_id=request_id
            )
        )
        if state is None:
            return None
        peer.runs.add(run_id)
        task = asyncio.create_task(
            self.follow(run_id, row.owner, last_seq, peer), name=f"follow:{run_id}"
        )
        self.node.followers.add(task)
        task.add_done_callback(self.node.followers.discard)
        return task

    async def _find(self, run_id: str) -> Any:
        """The run's header, waiting a moment for one that may be on its way.

        Its node writes the header just after the run's first event went out, so a client that
        dropped at once and reconnected here can ask before it lands. Run ids are unguessable:
        an unknown one is most likely that young run, worth a short wait before "unknown".
        """
        for pause in (*HEADER_WAITS, None):
            row = await self.store.get_run(run_id)
            if row is not None or pause is None:
                return row
            await asyncio.sleep(pause)
        return None

    async def follow(self, run_id: str, owner: str, last_seq: int, peer: Any) -> None:
        """Deliver ``run_id``'s events after ``last_seq`` to ``peer`` until its end (or peer's)."""
        attached = False
        try:
            last_seq, ended = await self._replay(run_id, last_seq, peer)
            if ended:
                return
            await self.node.tell("attach", run_id, owner)
            attached = True
            while not _gone(peer):
                last_seq, ended = await self._wait(run_id, last_seq, peer)
                if ended:
                    return
        except StoreError:
            logger.warning("run=%s | following stopped: store failed", run_id, exc_info=True)
            peer.answer(
                ResumeAnswer(
                    run_id=run_id, state="unknown", message="store unavailable; resume again"
                )
            )
        finally:
            if attached and _gone(peer):
                await _quietly(self.node.tell("detach", run_id, owner))

    async def _replay(self, run_id: str, last_seq: int, peer: Any) -> tuple[int, bool]:
        """Send what is stored after ``last_seq``, a chunk at a time; (last seq sent, ended)."""
        log = self.store.key("run", run_id, "log")
        while True:
            entries = await self.store.call(
                self.store.client.xrange, log, f"{last_seq + 1}-0", "+", count=self.chunk
            )
            last_seq, ended = self._send(entries, last_seq, peer)
            if ended or len(entries) < self.chunk:
                return last_seq, ended

    async def _wait(self, run_id: str, last_seq: int, peer: Any) -> tuple[int, bool]:
        """Block for new entries; when none come, check that the run can still produce some."""
        log = self.store.key("run", run_id, "log")
        found = await self.store.call(
            self.store.client.xread, {log: f"{last_seq}-0"}, count=self.chunk, block=self.block_ms
        )
        if found:
            return self._send(found[0][1], last_seq, peer)
        state = await self.node.settle(run_id, last_seq)
        if state == RunState.RUNNING:
            return last_seq, False
        last_seq, ended = await self._replay(run_id, last_seq, peer)
        if ended or await self._ended_by(run_id, last_seq):
            return last_seq, True
        if state == RunState.FAILED:  # its end went in before what this client saw: say it here
            last_seq += 1
            peer.deliver(stamp(lost_error(), run_id=run_id, seq=last_seq, ts=time.time()))
        else:  # ended without its terminal event in the log: the log was cut short
            message = "the end of this run's log is no longer kept" if state else "run expired"
            peer.answer(ResumeAnswer(run_id=run_id, state="expired", message=message))
        return last_seq, True

    async def _ended_by(self, run_id: str, last_seq: int) -> bool:
        """Whether the log's last event is the run's end and the client already has it."""
        log = self.store.key("run", run_id, "log")
        top = await self.store.call(self.store.client.xrevrange, log, "+", "-", count=1)
        if not top or entry_seq(top[0][0]) > last_seq:
            return False
        events = decode_row(top[0][1]["d"])
        return bool(events) and is_terminal(events[-1])

    @staticmethod
    def _send(entries: list[Any], last_seq: int, peer: Any) -> tuple[int, bool]:
        """Deliver the events of ``entries`` after ``last_seq``; (last seq sent, ended).

        An entry may be one event or several text deltas the recorder merged into one row (the
        row's seq is its last delta's): the row is split back, and deltas already sent are left
        out, so a client that stopped inside a merged row resumes exactly after it.
        """
        for entry_id, fields in entries:
            for event in decode_row(fields["d"], last_seq):
                if event.seq <= last_seq:  # never twice, whatever a read returns
                    continue
                peer.deliver(event)
                last_seq = event.seq
                if is_terminal(event):
                    return last_seq, True
            last_seq = max(last_seq, entry_seq(entry_id))
        return last_seq, False

    async def cancel(self, run_id: str, peer: Any, request_id: Any) -> None:
        """Cancel a run held by another node: tell its node, which stops it where it runs."""
        row = await self.store.get_run(run_id)
        if row is None or row.owner != peer.user:
            state, message = "unknown", "no such run"
        else:
            settled = await self.node.settle(run_id, 0) or "unknown"
            if settled == RunState.RUNNING:
                await self.node.tell("cancel", run_id, row.owner)
                state, message = "cancelling", "cancelling"
            else:
                state, message = settled, f"run already {settled}"
        peer.answer(
            CancelAnswer(run_id=run_id, state=state, message=message, request_id=request_id)
        )


def _gone(peer: Any) -> bool:
    return bool(getattr(peer, "closed", False))


async def _quietly(call: Any) -> None:
    try:
        await call
    except StoreError:
        logger.debug("cluster | a best-effort message was lost", exc_info=True)


async def join(store: Any, runs: Any) -> RemoteRuns | None:
    """Make this process a node of ``store``'s cluster; None when the store is no cluster's.

    Only a Redis store is shared by nodes; with any other store a process is alone, and resume
    and cancel of runs it does not hold keep their single-process answers.
    """
    from agentstream.stores.redis import RedisStore

    if not isinstance(store, RedisStore):
        return None
    node = ClusterNode(store, runs)
    await node.start()
    return RemoteRuns(node)
