"""CalledIt's call lifecycle: log a finished run's record as a call, list, fetch, verify.

A call is logged *by run id*: its record is the result of the run's ``RunFinished`` event, found
live in this process or recorded in the store, never taken from the client, so a client cannot
forge what the agent produced. The client may send an edited version instead, which is checked
like any input. Logging the same run twice returns the first call.

Two doors share each operation: the ``logcall`` and ``verify`` WebSocket actions, and the
``/api/calls`` endpoints (:data:`HTTP_ROUTES`). Both resolve the user once (``ctx.user`` on a
socket, :func:`request_user` over HTTP) and the store keys calls by it; when authentication lands,
those two places change and nothing else.

Errors are :class:`CallError`: a ``code`` for the error frame and an HTTP status. Store errors are
translated at the boundary (:func:`store_call`), and every store call is bounded in time, so a
store that is down gives an error, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentstream import clock
from agentstream.apps.calledit.records import (
    CallRow,
    calls_of,
    decode_cursor,
    validate_call_record,
)
from agentstream.apps.calledit.schemas import PredictionRecord
from agentstream.apps.calledit.shapes import LogCall, call_json, fields_message
from agentstream.apps.calledit.verify import (
    NoVerdict,
    Verdict,
    Verifier,
    VerifyCall,
    verifier_model,
)
from agentstream.gateway.app import BadMessage, validation_message
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.gateway.credentials import user_of
from agentstream.protocol.codec import DecodeError, loads
from agentstream.protocol.events import Event, RunError, RunFinished, RunStarted
from agentstream.runs.log import LogGap
from agentstream.runs.recorder import stored_events
from agentstream.stores.errors import (
    Conflict,
    InvalidRecord,
    NotFound,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from agentstream.gateway.context import Services
    from agentstream.runs.registry import RunRegistry
    from agentstream.runs.run import Run
    from agentstream.stores import Store

logger = logging.getLogger(__name__)

# No store call may hold a socket longer than this, whatever the backend's own timeouts.
STORE_TIMEOUT_S = 10.0
# A run that just finished on another node (or here, with no registry at hand) may still be
# recorded as running until its recorder's next batch; wait this long before saying so.
RECORD_GRACE_S = 1.0
MAX_BODY_BYTES = 64 * 1024
DEFAULT_PAGE = 20

M = TypeVar("M", bound=BaseModel)


class CallError(BadMessage):
    """A call request refused; ``code`` goes in the error frame, ``http_status`` over HTTP."""

    def __init__(self, message: str, code: str, http_status: int = 400) -> None:
        """Say what is wrong, naming the field."""
        super().__init__(message, code, http_status)


# --- plumbing --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def store_call(what: str) -> AsyncIterator[None]:
    """Bound a store call in time and turn its errors into :class:`CallError`.

    Args:
        what: The request field a ``NotFound`` is about (``runId``, ``callId``).
    """
    try:
        async with asyncio.timeout(STORE_TIMEOUT_S):
            yield
    except TimeoutError as exc:
        logger.warning("store did not answer in %.0fs", STORE_TIMEOUT_S)
        raise CallError(
            "the store is unavailable (it did not answer); try again later",
            "store_unavailable",
            503,
        ) from exc
    except StoreUnavailable as exc:
        logger.warning("store unavailable: %s", exc)
        raise CallError(
            f"the store is unavailable; try again later ({exc})", "store_unavailable", 503
        ) from exc
    except NotFound as exc:
        raise CallError(f"{what}: {exc}", "not_found", 404) from exc
    except InvalidRecord as exc:
        raise CallError(str(exc), "invalid_record", 422) from exc
    except Conflict as exc:
        raise CallError(str(exc), "conflict", 409) from exc
    except StoreError as exc:
        logger.error("store error: %s", exc)
        raise CallError(f"store error: {exc}", "store_error", 500) from exc


def require_store(services: Services) -> Store:
    """The gateway's store, or an error saying this server keeps no calls."""
    store = services.store
    if store is None:
        raise CallError(
            "this server keeps no calls (it was started with --store none)", "no_store", 404
        )
    return store


def live_runs(services: Services) -> RunRegistry:
    """The runs this process holds."""
    return services.runs


# --- logging a call --------------------------------------------------------------------------


@dataclass(frozen=True)
class FinishedRun:
    """What a finished makecall run produced, and the timezone it was made in."""

    record: dict[str, Any]
    timezone: str


def _outcome(run_id: str, state: str, events: Sequence[Event]) -> FinishedRun:
    if state == "running":
        raise CallError(
            f"runId: run {run_id} is still running; log it after its complete frame",
            "run_not_finished",
            409,
        )
    last = events[-1] if events else None
    if state != "finished" or not isinstance(last, RunFinished):
        raise CallError(
            f"runId: run {run_id} did not finish ({state}), so it has no record",
            "run_not_finished",
            409,
        )
    if not isinstance(last.result, dict) or "prediction_statement" not in last.result:
        raise CallError(
            f"runId: run {run_id} did not produce a prediction record", "not_a_call", 422
        )
    started = events[0] if isinstance(events[0], RunStarted) else None
    given = started.input if started is not None and isinstance(started.input, dict) else {}
    return FinishedRun(dict(last.result), str(given.get("timezone") or "UTC"))


def _live_outcome(run: Run) -> FinishedRun:
    if not run.finished:
        return _outcome(run.id, "running", [])
    try:
        events = run.log.after(0)
    except LogGap:  # a huge run: its RunStarted is gone, the terminal event is what matters
        events = run.log.after(run.last_seq - 1)
    return _outcome(run.id, run.state.value, events)


async def _recorded_outcome(store: Store, run_id: str, user: str) -> FinishedRun:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECORD_GRACE_S
    async with store_call("runId"):
        row = await store.get_run(run_id)
        while row is not None and row.state == "running" and loop.time() < deadline:
            await asyncio.sleep(0.1)
            row = await store.get_run(run_id)
        if row is None or row.owner != user:  # someone else's run looks like no run at all
            raise CallError(f"runId: no run {run_id} of yours", "not_found", 404)
        if row.state == "running":
            raise CallError(
                f"runId: run {run_id} has not finished (it is still running, or a "
                "restart cut it off)",
                "run_not_finished",
                409,
            )
        events = await stored_events(store, run_id)
    return _outcome(run_id, row.state, events)


async def finished_run(
    store: Store, runs: RunRegistry | None, user: str, run_id: str
) -> FinishedRun:
    """The record ``user``'s run ``run_id`` finished with: live if held here, else recorded."""
    run = runs.get(run_id, user) if runs is not None else None
    if run is not None:
        return _live_outcome(run)
    return await _recorded_outcome(store, run_id, user)


def _record_field(name: str) -> str:
    return name if name == "record" else f"record.{name}"


def checked_edit(edited: object, original: FinishedRun, max_bytes: int) -> dict[str, Any]:
    """A user-edited record, validated; its date may not move into the past.

    The run's own date is kept even if it has passed since (the agent set it and code made it
    honest when the call was made); a *changed* date must be today or later.
    """
    try:
        clean = validate_call_record(edited, max_bytes)
    except InvalidRecord as exc:
        raise CallError(f"{_record_field(exc.field)}: {exc.reason}", "invalid_record", 422) from exc
    try:
        PredictionRecord.model_validate(clean)
    except ValidationError as exc:
        raise CallError(fields_message(exc, "record"), "invalid_record", 422) from exc
    date = clean["verification_date"]
    today = clock.now(original.timezone).date().isoformat()
    if date < today and date != original.record.get("verification_date"):
        raise CallError(
            f"record.verification_date: {date} is in the past (today is {today})",
            "invalid_record",
            422,
        )
    return clean


async def log_call(
    store: Store,
    runs: RunRegistry | None,
    user: str,
    run_id: str,
    edited: dict[str, Any] | None = None,
) -> tuple[CallRow, bool]:
    """Save ``user``'s finished run as a call; returns the call and whether it is new."""
    finished = await finished_run(store, runs, user, run_id)
    record = finished.record
    if edited is not None:
        record = checked_edit(edited, finished, calls_of(store).max_call_bytes)
    call_id = uuid.uuid4().hex
    async with store_call("runId"):
        row = await calls_of(store).save_call(user, record, run_id=run_id, call_id=call_id)
    created = row.call_id == call_id
    logger.info("run=%s call=%s created=%s | call logged", run_id, row.call_id, created)
    return row, created


async def logcall(request: LogCall, ctx: ReplyContext) -> dict[str, Any]:
    """The ``logcall`` reply route: ``{"call": {…}, "created": bool}``."""
    store = require_store(ctx.services)
    row, created = await log_call(
        store, live_runs(ctx.services), ctx.user, request.run_id, request.record
    )
    return {"call": call_json(row), "created": created}


# --- verifying a call ------------------------------------------------------------------------


def check_verifiable(call: CallRow, today: dt.date, force: bool) -> None:
    """Refuse a call that is not due yet or already has a verdict, unless ``force``."""
    if force:
        return
    due = dt.date.fromisoformat(call.record["verification_date"])
    if due > today:
        raise CallError(
            f"callId: call {call.call_id} is not due until {due} (today is {today}); "
            "use force to verify it now",
            "not_due",
            409,
        )
    if call.status != "pending":
        raise CallError(
            f"callId: call {call.call_id} is already {call.status}; use force to verify it again",
            "already_verified",
            409,
        )


async def verify_call(
    store: Store,
    call: CallRow,
    ctx: RouteContext,
    *,
    today: dt.date,
    force: bool = False,
) -> AsyncGenerator[Event, None]:
    """Verify ``call`` in ``ctx``'s run: stream the agent, save the verdict, then ``RunFinished``.

    The model is the run's (``ctx.settings.model``) and the evidence tools are
    ``ctx.services.evidence_tools``. A call that is not due or already verified (without
    ``force``), an agent that gives no verdict, or a store that fails while saving ends the stream
    with a ``RunError`` and a code; a cancelled run ends in ``asyncio.CancelledError`` before
    anything is saved (the run reports the cancel).
    """
    try:
        check_verifiable(call, today, force)
        verifier = Verifier(
            ctx,
            call.record,
            verifier_model(ctx, call.record),
            evidence_tools=ctx.services.evidence_tools,
        )
        async for event in verifier.events():
            yield event
        if verifier.verdict is None:  # events() ended normally, so it settled one
            raise NoVerdict("the verification agent stopped without a verdict")
        saved = await _save_verdict(store, call, verifier.verdict)
    except (CallError, NoVerdict) as exc:  # the error frame: the code and a plain message
        yield RunError(message=str(exc), code=exc.code)
        return
    verdict = saved.verdict.to_dict() if saved.verdict else None
    yield RunFinished(result={"call_id": saved.call_id, "verdict": verdict})


async def _save_verdict(store: Store, call: CallRow, verdict: Verdict) -> CallRow:
    # Stamped with the app's clock, so ``--now`` (or AGENTSTREAM_NOW) pins it too.
    verified_at = clock.now("UTC").isoformat(timespec="seconds")
    payload = verdict.model_dump(mode="json") | {"verified_at": verified_at}
    async with store_call("callId"):
        saved = await calls_of(store).set_verdict(call.user_id, call.call_id, payload)
    logger.info("call=%s status=%s | verdict saved", saved.call_id, saved.status)
    return saved


async def verify(request: VerifyCall, ctx: RouteContext) -> AsyncIterator[Event]:
    """The ``verify`` run route: stream the verification of one of ``ctx.user``'s calls."""
    try:
        store = require_store(ctx.services)
        async with store_call("callId"):
            call = await calls_of(store).get_call(ctx.user, request.call_id)
    except CallError as exc:
        yield RunError(message=str(exc), code=exc.code)
        return
    events = verify_call(
        store, call, ctx, today=clock.now(request.timezone).date(), force=request.force
    )
    async with contextlib.aclosing(events):
        async for event in events:
            yield event


# --- HTTP ------------------------------------------------------------------------------------


def request_user(request: Request) -> str:
    """Who is asking over HTTP (the gateway's one identity rule)."""
    return user_of(request)


def _error(exc: CallError) -> JSONResponse:
    return JSONResponse({"type": "error", "code": exc.code, "message": str(exc)}, exc.http_status)


Endpoint = Callable[[Request], Awaitable[Response]]


def _answers_errors(endpoint: Endpoint) -> Endpoint:
    """Turn a :class:`CallError` raised by ``endpoint`` into its JSON error response."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except CallError as exc:
            return _error(exc)

    return wrapped


def _store(request: Request) -> Store:
    return require_store(request.app.state.dispatcher.services)


async def _json_body(request: Request) -> object:
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise CallError(f"body too large (limit {MAX_BODY_BYTES} bytes)", "too_large", 413)
        chunks.append(chunk)
    try:
        return loads(b"".join(chunks))
    except DecodeError as exc:
        raise CallError(str(exc), "invalid_json", 400) from exc


def _validated(model: type[M], body: object) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise CallError(validation_message(exc), "invalid_request", 422) from exc


@_answers_errors
async def post_call(request: Request) -> Response:
    """``POST /api/calls``: log a run's record; 201 when new, 200 with the existing call."""
    body = _validated(LogCall, await _json_body(request))
    gateway = request.app.state.gateway
    row, created = await log_call(
        _store(request), gateway.runs, request_user(request), body.run_id, body.record
    )
    return JSONResponse({"call": call_json(row), "created": created}, 201 if created else 200)


def _page_limit(raw: str | None, most: int) -> int:
    if raw is None:
        return min(DEFAULT_PAGE, most)
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise CallError(f"limit: must be an integer from 1 to {most}", "invalid_request", 422)
    return int(raw)


@_answers_errors
async def list_calls(request: Request) -> Response:
    """``GET /api/calls?limit=&cursor=``: the user's calls, newest first, and the next cursor."""
    store = _store(request)
    limit = _page_limit(request.query_params.get("limit"), store.limits.max_page)
    cursor = request.query_params.get("cursor") or None
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InvalidRecord as exc:
            raise CallError(str(exc), "invalid_request", 422) from exc
    async with store_call("cursor"):
        rows, after = await calls_of(store).list_calls(request_user(request), limit, cursor)
    return JSONResponse({"calls": [call_json(r) for r in rows], "next": after})


@_answers_errors
async def get_call(request: Request) -> Response:
    """``GET /api/calls/{call_id}``: one of the user's calls, or 404."""
    async with store_call("call_id"):
        calls = calls_of(_store(request))
        row = await calls.get_call(request_user(request), request.path_params["call_id"])
    return JSONResponse({"call": call_json(row)})


@_answers_errors
async def post_verdict(request: Request) -> Response:
    """``POST /api/calls/{call_id}/verdict``: record ``{status, reasoning, evidence[]}`` by hand."""
    verdict = _validated(Verdict, await _json_body(request))
    store = _store(request)
    call_id = request.path_params["call_id"]
    async with store_call("call_id"):
        row = await calls_of(store).set_verdict(
            request_user(request), call_id, verdict.model_dump(mode="json")
        )
    logger.info("call=%s status=%s | verdict recorded by hand", call_id, row.status)
    return JSONResponse({"call": call_json(row)})


HTTP_ROUTES: list[Route] = [
    Route("/api/calls", post_call, methods=["POST"]),
    Route("/api/calls", list_calls, methods=["GET"]),
    Route("/api/calls/{call_id}", get_call, methods=["GET"]),
    Route("/api/calls/{call_id}/verdict", post_verdict, methods=["POST"]),
]
