"""``POST /api/agui``: start a run from AG-UI's ``RunAgentInput`` and stream it as AG-UI SSE.

This is what ``@ag-ui/client``'s ``HttpAgent`` (and CopilotKit behind it) POSTs. The body is
validated with the official ``ag_ui.core.RunAgentInput`` (400 for bad JSON, 422 naming each bad
field); the app's :class:`~agentstream.gateway.routes.ChatInput` turns the last user message into
its own request (CalledIt: the prediction) and ``forwardedProps`` fill the rest (``timezone``).

The answer is the run in the ``ag-ui`` dialect, each event with ``id:`` = its ``seq``; the run
events carry the client's own ``threadId`` and ``runId``, and our run id is in every event's
``metadata.runId``. What AG-UI lacks (ag-ui#2105) is an extension here: POSTing the same input
again with ``Last-Event-ID: n`` resumes after seq ``n`` (no gap, no duplicate), and without the
header replays the run from the start instead of starting a second one. In a cluster the client's
run id is remembered in Redis too, so the re-POST may reach any node. A client that goes away
detaches the run (it is cancelled after the detach grace unless someone resumes), exactly as a
dropped WebSocket; ``POST /api/runs/{metadata.runId}/cancel`` stops it at once.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from typing import Any, ClassVar

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from agentstream.errors import AgentstreamError
from agentstream.gateway.chat import Conversation, Turn, chat_command
from agentstream.gateway.credentials import user_of
from agentstream.gateway.dispatch import Dispatcher, error_answer
from agentstream.gateway.http import (
    dispatcher_of,
    event_stream,
    last_event_id,
    remote_events,
    retry_headers,
)
from agentstream.gateway.messages import (
    BadMessage,
    InvalidRequest,
    json_object,
    validation_message,
)
from agentstream.protocol.control import Control, control_frame
from agentstream.protocol.dialects.agui import DIALECT
from agentstream.protocol.events import Event
from agentstream.runs.run import Run
from agentstream.stores.errors import StoreError

logger = logging.getLogger(__name__)

# Client run ids remembered per server (for resume by re-POST); the oldest are forgotten first.
MAX_ALIASES = 10_000
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class UnknownRun(BadMessage):
    """A resume (``Last-Event-ID``) for a run this server does not know for this user."""

    code: ClassVar[str] = "unknown_run"
    http_status: ClassVar[int] = 404


@functools.cache
def _run_agent_input() -> Any:
    # Imported on first use: `import agentstream` stays light for servers nobody POSTs AG-UI to.
    from ag_ui.core import RunAgentInput

    return RunAgentInput


def parse_input(raw: bytes) -> Any:
    """The ``RunAgentInput`` in ``raw``.

    Raises:
        InvalidJson: not JSON.
        BadMessage: not an object, or nested too deep.
        InvalidRequest: the official model refused it (each field named).
    """
    body = json_object(raw, "the body must be an AG-UI RunAgentInput object")
    try:
        return _run_agent_input().model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest("RunAgentInput: " + validation_message(exc)) from None


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(getattr(part, "text", "") or "" for part in content)
    return ""


def conversation(run_input: Any) -> Conversation:
    """What ``run_input`` asks, as the turns, thread and extras :mod:`chat` maps."""
    turns = [Turn(str(m.role), _text(getattr(m, "content", None))) for m in run_input.messages]
    extra = run_input.forwarded_props if isinstance(run_input.forwarded_props, dict) else {}
    return Conversation(turns, thread_id=run_input.thread_id, extra=extra)


class ThreadedDialect:
    """The ``ag-ui`` dialect with the client's own ``threadId``/``runId`` on run events."""

    name = "ag-ui"

    def __init__(self, thread_id: str, run_id: str) -> None:
        """Name the client's thread and run."""
        self.thread_id = thread_id
        self.run_id = run_id

    def render(self, event: Event) -> dict[str, Any]:
        """The AG-UI frame, with the client's ids where the spec puts a thread and run."""
        frame = DIALECT.render(event)
        if frame["type"] in ("RUN_STARTED", "RUN_FINISHED"):
            frame["threadId"] = self.thread_id
            frame["runId"] = self.run_id
        return frame

    def render_error(self, message: str, code: str, **extra: Any) -> dict[str, Any]:
        """A ``RUN_ERROR``."""
        return DIALECT.render_error(message, code, **extra)

    def render_control(self, control: Control) -> dict[str, Any]:
        """A control answer as the ``ag-ui`` dialect renders it."""
        return DIALECT.render_control(control)


def _aliases(request: Request) -> OrderedDict[tuple[str, str], str]:
    state = request.app.state
    if not hasattr(state, "agui_runs"):
        state.agui_runs = OrderedDict()
    aliases: OrderedDict[tuple[str, str], str] = state.agui_runs
    return aliases


def _known_run(request: Request, dispatcher: Dispatcher, run_input: Any) -> Run | None:
    """The run of this node that this input names (a resume or a retry), if any."""
    user = user_of(request)
    known = _aliases(request).get((user, run_input.run_id))
    return dispatcher.runs.get(known, user) if known else None


async def shared_alias(
    dispatcher: Dispatcher, user: str, client_run_id: str, run_id: str | None = None
) -> str | None:
    """In a cluster, our run id for ``user``'s AG-UI ``client_run_id`` (remembered in Redis).

    With ``run_id``, remember it (for as long as the run's log is kept); without, look it up.
    Best-effort: an unreachable Redis makes the lookup a miss, never an error.
    """
    remote = dispatcher.remote
    if remote is None:
        return None
    store = remote.store
    key = store.key("agui", user, client_run_id)
    try:
        if run_id is not None:
            ttl = max(1, int(dispatcher.settings.run_ttl_s))
            await store.call(store.client.set, key, run_id, ex=ttl)
            return run_id
        found = await store.call(store.client.get, key)
    except StoreError:
        logger.warning("agui | run alias not shared: store failed", exc_info=True)
        return None
    return found.decode() if isinstance(found, bytes) else found


def _start(request: Request, dispatcher: Dispatcher, run_input: Any) -> Run:
    """A new run started from this input, remembered under the client's run id."""
    user = user_of(request)
    aliases = _aliases(request)
    key = (user, run_input.run_id)
    command = chat_command(
        dispatcher.app, conversation(run_input), max_bytes=dispatcher.settings.max_message_bytes
    )
    run = dispatcher.launch(command, user, "agui")
    aliases[key] = run.id
    while len(aliases) > MAX_ALIASES:
        aliases.popitem(last=False)
    logger.info("run=%s thread=%s | started by an AG-UI client", run.id, run_input.thread_id)
    return run


def refused(exc: AgentstreamError) -> Response:
    """The JSON answer for a request refused before any stream starts."""
    frame = control_frame(error_answer(exc))
    return JSONResponse(frame, exc.http_status, headers=retry_headers(frame))


async def agui_run(request: Request) -> Response:
    """``POST /api/agui``: an AG-UI ``RunAgentInput`` in, the run as AG-UI SSE out."""
    dispatcher = dispatcher_of(request)
    after = last_event_id(request)
    if after is None:
        return refused(BadMessage("Last-Event-ID must be a seq number"))
    user = user_of(request)
    try:
        run_input = parse_input(await request.body())
        dialect = ThreadedDialect(run_input.thread_id, run_input.run_id)
        run = _known_run(request, dispatcher, run_input)
        if run is None:  # another node of the cluster may have started it
            shared = await shared_alias(dispatcher, user, run_input.run_id)
            if shared is not None:
                hdrs = {"X-Agentstream-Run-Id": shared}
                return await remote_events(dispatcher, shared, user, dialect, after, hdrs)
            if after > 0:
                raise UnknownRun(f"no run {run_input.run_id!r} to resume")
            run = _start(request, dispatcher, run_input)
            await shared_alias(dispatcher, user, run_input.run_id, run.id)
    except AgentstreamError as exc:
        return refused(exc)
    return StreamingResponse(
        event_stream(run, dialect, after, dispatcher),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, "X-Agentstream-Run-Id": run.id},
    )
