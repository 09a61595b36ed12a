"""One gateway node of a cluster on Redis: its lease, the control channel, and lost runs.

Every node:

- **heartbeats** ``node:<id>`` with a TTL of ``lease`` seconds (renewed every third of it). A run
  records the node that runs it (:meth:`~agentstream.stores.redis.RedisStore.put_run`), so any
  node can tell a run whose node is alive from one whose node died: the key is gone.
- **listens** on one pub/sub channel, ``control``, for what other nodes ask of the runs it holds:
  ``cancel`` (a client on another node cancelled it), ``attach``/``detach`` (a client on another
  node follows it, so the detach grace must not cancel it meanwhile). A message names the run's
  owner, checked by the sender against the stored run, and the receiver looks the run up by
  owner too, so a forged message can reach nothing more than the owner's own ``cancel`` could.
- **marks lost runs failed**: a run recorded as running whose node's lease expired gets a final
  ``RUN_ERROR`` (code ``node_lost``) appended to its log at the next seq, then the ``failed``
  state. Appending is the store's atomic check-and-set, so of two nodes noticing at once one
  writes the event; a run whose node is alive is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final

import orjson

from agentstream.gateway.limits import RENEW_LIVE, live_key
from agentstream.protocol.codec import encode
from agentstream.protocol.events import RunError, stamp
from agentstream.runs.registry import RunRegistry
from agentstream.runs.state import RunState
from agentstream.stores.errors import Conflict, NotFound, StoreError
from agentstream.stores.redis import RedisStore, entry_seq

logger = logging.getLogger(__name__)

LOST_CODE: Final = "node_lost"
LOST_MESSAGE: Final = "The server running this request stopped; please start it again"
OPS: Final = frozenset({"cancel", "attach", "detach"})


class ClusterNode:
    """This process as a node: lease, control channel, and the judge of lost runs."""

    def __init__(self, store: RedisStore, runs: RunRegistry) -> None:
        """Join the cluster of ``store``'s Redis as ``store.node``, acting on ``runs``."""
        self.store = store
        self.runs = runs
        self.node = store.node
        self.lease = store.lease
        self._tasks: list[asyncio.Task[None]] = []
        self.followers: set[asyncio.Task[None]] = set()
        self._beat_client: Any = None

    @property
    def channel(self) -> str:
        """The pub/sub channel nodes talk on."""
        return self.store.key("control")

    async def start(self) -> None:
        """Take the lease now, then keep it and listen in background tasks."""
        await self.heartbeat()
        pubsub = self.store.client.pubsub()
        await self.store.call(pubsub.subscribe, self.channel)
        self._tasks = [
            asyncio.create_task(self._beat(), name=f"cluster-heartbeat:{self.node}"),
            asyncio.create_task(self._listen(pubsub), name=f"cluster-control:{self.node}"),
        ]
        logger.info("node=%s | joined the cluster (lease %.1f s)", self.node, self.lease)

    async def stop(self) -> None:
        """Stop following, listening and beating, and give the lease back."""
        for task in [*self._tasks, *self.followers]:
            task.cancel()
        for task in [*self._tasks, *self.followers]:
            with contextlib.suppress(asyncio.CancelledError, StoreError):
                await task
        self._tasks = []
        with contextlib.suppress(StoreError):
            await self.store.call(self.store.client.delete, self._lease_key(self.node))
        if self._beat_client is not None:
            await self._beat_client.aclose()
            self._beat_client = None
        logger.info("node=%s | left the cluster", self.node)

    # --- the lease ------------------------------------------------------------------------------

    def _lease_key(self, node: str) -> str:
        return self.store.key("node", node)

    async def heartbeat(self) -> None:
        """Renew this node's lease for ``lease`` seconds (on a client of its own, never queued)."""
        if self._beat_client is None:
            self._beat_client = self.store.new_client(2)
        ms = max(1, int(self.lease * 1000))
        await self.store.call(self._beat_client.set, self._lease_key(self.node), "1", px=ms)
        await self.renew_live(ms)

    async def renew_live(self, ms: int) -> None:
        """Keep this node's live runs counted against their users' cluster-wide cap for ``ms``.

        The slots (:class:`~agentstream.gateway.limits.RedisLiveRuns`) last one lease, so a node
        that dies stops counting its runs when its lease goes; a live node renews them here.
        """
        runs = self.runs.active()
        if not runs:
            return
        keys = [live_key(self.store.prefix, run.owner) for run in runs]
        args = [ms, *(run.id for run in runs)]
        await self.store.call(self._beat_client.eval, RENEW_LIVE, len(keys), *keys, *args)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.heartbeat()
            except StoreError:  # Redis away: keep trying; other nodes may judge us lost meanwhile
                logger.warning("node=%s | heartbeat failed", self.node, exc_info=True)

    async def alive(self, node: str | None) -> bool:
        """Whether ``node`` holds its lease (this node always does)."""
        if node is None or node == self.node:
            return True
        return bool(await self.store.call(self.store.client.exists, self._lease_key(node)))

    # --- the control channel ----------------------------------------------------------------------

    async def tell(self, op: str, run_id: str, owner: str) -> None:
        """Ask the node holding ``run_id`` (of ``owner``) to cancel, attach or detach it."""
        message = orjson.dumps({"op": op, "run": run_id, "owner": owner, "from": self.node})
        await self.store.call(self.store.client.publish, self.channel, message.decode())

    async def _listen(self, pubsub: Any) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except Exception:  # noqa: BLE001 - any pub/sub failure: resubscribe after a pause
                    logger.warning("node=%s | control channel failed", self.node, exc_info=True)
                    await asyncio.sleep(1.0)
                    with contextlib.suppress(Exception):
                        await pubsub.subscribe(self.channel)
                    continue
                if message is not None:
                    self.on_control(message.get("data"))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def on_control(self, data: object) -> None:
        """Act on one control message meant for a run this node holds (others are ignored)."""
        try:
            body = orjson.loads(data) if isinstance(data, str | bytes) else None
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or body.get("op") not in OPS:
            logger.warning("node=%s | ignored a malformed control message", self.node)
            return
        run = self.runs.get(str(body.get("run")), str(body.get("owner")))
        if run is None:
            return
        if body["op"] == "cancel" and run.cancel():
            logger.info("run=%s | cancelled from node %s", run.id, body.get("from"))
        elif body["op"] == "attach":
            self.runs.attached(run)
        elif body["op"] == "detach":
            self.runs.detached(run)

    # --- lost runs ------------------------------------------------------------------------------

    async def settle(self, run_id: str, seen: int = 0) -> str | None:
        """The run's state, after marking it failed if its node lost its lease; None if unknown.

        ``seen`` is the last seq the asking client has: the end goes after it, because a client
        may have seen events its node streamed but died before writing.
        """
        row = await self.store.get_run(run_id)
        if row is None:
            return None
        if row.state != RunState.RUNNING or await self.alive(await self.store.run_node(run_id)):
            return str(row.state)
        await self.mark_lost(run_id, seen)
        row = await self.store.get_run(run_id)
        return str(row.state) if row is not None else None

    async def mark_lost(self, run_id: str, seen: int = 0) -> None:
        """End a run whose node died: a ``node_lost`` RUN_ERROR after every seq known, then failed.

        The error's seq follows both the stored log and ``seen`` (events the node streamed but
        never wrote are lost with it; the error says so instead of leaving the client waiting).
        """
        log = self.store.key("run", run_id, "log")
        top = await self.store.call(self.store.client.xrevrange, log, "+", "-", count=1)
        seq = max(entry_seq(top[0][0]) if top else 0, seen) + 1
        event = stamp(lost_error(), run_id=run_id, seq=seq, ts=time.time())
        try:
            await self.store.append_events(run_id, [(seq, encode(event))])
        except Conflict:  # another node wrote the end first (or the owner came back): theirs holds
            logger.info("run=%s | already ended by another writer", run_id)
            return
        except NotFound:
            return
        with contextlib.suppress(NotFound):
            await self.store.set_run_state(run_id, RunState.FAILED)
        logger.warning("run=%s seq=%d | node lease expired; marked failed", run_id, seq)


def lost_error() -> RunError:
    """The error that ends a run whose node died."""
    return RunError(message=LOST_MESSAGE, code=LOST_CODE)
