"""The dispatcher's :class:`~agentstream.gateway.dispatch.Peer` inside one Lambda invocation.

It keeps what the dispatcher answers (and any replayed events) in an
:class:`~agentstream.gateway.outbox.Outbox` in the connection's dialect, the same merging and
rendering as a local WebSocket, and :meth:`LambdaPeer.flush` posts them through the
:class:`~agentstream.aws.sender.Sender` in one worker thread, in order.
"""

from __future__ import annotations

import asyncio
import logging

from agentstream.aws.sender import FrameTooLarge, Sender
from agentstream.gateway.outbox import Outbox
from agentstream.protocol.codec import dumps
from agentstream.protocol.control import Control
from agentstream.protocol.dialects import Dialect
from agentstream.protocol.events import Event

logger = logging.getLogger(__name__)

# Frames one invocation may hold for one client (a replay of a whole log fits).
OUTBOX_FRAMES = 100_000


def post_frames(sender: Sender, connection_id: str, dialect: Dialect, frames: list[str]) -> bool:
    """Post ``frames`` in order; False when the client left.

    A frame over the 128 KB limit is replaced by an error frame saying so (with its ``runId`` and
    ``seq`` when it had them), so the client knows what it missed instead of hanging.
    """
    for frame in frames:
        try:
            if not sender.post(connection_id, frame):
                return False
        except FrameTooLarge as exc:
            logger.warning("conn=%s | %s; sent an error instead", connection_id, exc)
            notice = dialect.render_error(str(exc), FrameTooLarge.code)
            if not sender.post(connection_id, dumps(notice)):
                return False
    return True


class LambdaPeer:
    """One connection as the dispatcher sees it during one invocation."""

    def __init__(self, connection_id: str, user: str, dialect: Dialect) -> None:
        """Answer ``connection_id`` (of ``user``) in ``dialect``."""
        self.connection_id = connection_id
        self.user = user
        self.dialect = dialect
        self.runs: set[str] = set()
        self.outbox = Outbox(dialect, limit=OUTBOX_FRAMES, coalesce=True)
        self.gone = False

    def deliver(self, event: Event) -> None:
        """Keep one run event (text merges, as on a coalescing local connection)."""
        self.outbox.add_event(event)

    def answer(self, control: Control) -> None:
        """Keep one control answer."""
        self.outbox.add_control(control)

    async def flush(self, sender: Sender) -> bool:
        """Post everything kept, in order; False when the client has left."""
        frames = self.outbox.take_all()
        if not frames or self.gone:
            return not self.gone
        sent = await asyncio.to_thread(
            post_frames, sender, self.connection_id, self.dialect, frames
        )
        self.gone = not sent
        return sent
