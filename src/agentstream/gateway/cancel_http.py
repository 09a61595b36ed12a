"""``POST /api/runs/{run_id}/cancel``: cancel over HTTP, for clients that stream without a socket.

An SSE reader (the browser's fallback mode, an AG-UI or AI SDK client) cannot send
``{"action":"cancel"}`` down its stream, and closing the stream is a disconnect, not a cancel.
This is the same cancel as the WebSocket's, through the dispatcher: the answer is the
``cancel`` control frame (``state`` ``cancelling``, or the state the run already ended in);
a run of somebody else is 404, as an unknown id.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentstream.gateway.credentials import user_of
from agentstream.gateway.http import dispatcher_of
from agentstream.gateway.messages import Cancel
from agentstream.protocol.control import Control, control_frame
from agentstream.protocol.events import Event


class _Answer:
    """A peer that keeps the dispatcher's one answer."""

    connection_id = "http"

    def __init__(self, user: str) -> None:
        self.user = user
        self.runs: set[str] = set()
        self.control: Control | None = None

    def deliver(self, event: Event) -> None:
        """Cancel delivers no events."""

    def answer(self, control: Control) -> None:
        """Keep the answer."""
        self.control = control


async def cancel_run(request: Request) -> Response:
    """Cancel the caller's run ``run_id``; 202 while it stops, 200 if it had ended, else 404."""
    dispatcher = dispatcher_of(request)
    peer = _Answer(user_of(request))
    # dispatch(), not cancel(): in a cluster the run may live on another node.
    await dispatcher.dispatch(Cancel(run_id=request.path_params["run_id"]), peer)
    if peer.control is None:  # the dispatcher always answers; this keeps mypy and readers sure
        return JSONResponse({"message": "no answer", "code": "error"}, 500)
    frame = control_frame(peer.control)
    status = {"unknown": 404, "cancelling": 202}.get(str(frame.get("state")), 200)
    return JSONResponse(frame, status)
