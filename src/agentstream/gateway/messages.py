"""Client messages parsed into typed commands, with no I/O.

Every transport (the WebSocket, ``POST /api/invoke``, ``POST /api/runs``, an app's own HTTP door)
hands the raw text to :func:`parse` and gets one of five frozen commands back, or one
:class:`BadMessage` whose ``code`` names the problem:

================  ====================================================================
``message_too_large``  more than the limit in UTF-8 bytes (API Gateway's 128 KB)
``invalid_json``       not JSON
``bad_request``        not a JSON object, nested deeper than ``MAX_DEPTH``, or a built-in
                       action with bad fields
``unknown_action``     no ``action``, or one the app has no route (and no ``$default``) for
``invalid_request``    the route's request model refused the fields (each one named)
================  ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from pydantic import BaseModel, ValidationError

from agentstream.errors import BadRequest
from agentstream.gateway.routes import AgentApp, Route
from agentstream.gateway.settings import MAX_MESSAGE_BYTES
from agentstream.protocol.codec import DecodeError, loads
from agentstream.protocol.control import RequestId

# A requestId is echoed on every answer: a short string or an integer JSON can carry exactly.
MAX_REQUEST_ID_CHARS = 128
MAX_REQUEST_ID_INT = 2**53 - 1
# Deeper JSON cannot be encoded again (orjson stops at 255 levels) and no route needs it.
MAX_DEPTH = 32
# Sequence numbers are 64-bit in every store.
MAX_SEQ = 2**63 - 1


class BadMessage(BadRequest):
    """A client message the gateway cannot act on; ``code`` goes in the error frame.

    Each problem has its own leaf with a class-level ``code``. An app's error may still pass a
    ``code`` (and ``http_status``) per instance, as CalledIt's ``CallError`` does.
    """

    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        http_status: int | None = None,
        *,
        request_id: RequestId = None,
    ) -> None:
        """Say what is wrong; ``request_id`` is the message's, so the answer pairs with it."""
        super().__init__(message)
        self.request_id = request_id
        # Per-instance values shadow the class-level ones (instance dict first, as for any
        # attribute); written through __dict__ because the root declares them ClassVar.
        if code is not None:
            self.__dict__["code"] = code
        if http_status is not None:
            self.__dict__["http_status"] = http_status


class MessageTooLarge(BadMessage):
    """The message is over the size limit (counted in UTF-8 bytes)."""

    code: ClassVar[str] = "message_too_large"
    http_status: ClassVar[int] = 413


class InvalidJson(BadMessage):
    """The message is not JSON."""

    code: ClassVar[str] = "invalid_json"


class UnknownAction(BadMessage):
    """The message names no action, or one the app does not answer."""

    code: ClassVar[str] = "unknown_action"


class InvalidRequest(BadMessage):
    """The route's request model refused the message's fields."""

    code: ClassVar[str] = "invalid_request"
    http_status: ClassVar[int] = 422


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRun:
    """Start a streamed run of ``route`` with the validated ``request``."""

    route: Route
    request: BaseModel
    action: str | None
    request_id: RequestId = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Answer once with ``route``'s handler (a reply route)."""

    route: Route
    request: BaseModel
    action: str | None
    request_id: RequestId = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    """Cancel the run ``run_id``."""

    run_id: str
    request_id: RequestId = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    """Replay the run ``run_id`` after ``last_seq``, then stream the rest."""

    run_id: str
    last_seq: int = 0
    request_id: RequestId = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """Ask for a ``pong``."""

    request_id: RequestId = None


Command: TypeAlias = StartRun | Reply | Cancel | Resume | Ping


def json_object(raw: str | bytes, refusal: str) -> dict[str, Any]:
    """``raw`` decoded as a JSON object nested no deeper than ``MAX_DEPTH`` (an HTTP body).

    Raises:
        InvalidJson: not JSON.
        BadMessage: not an object (``refusal`` says what it must be), or nested too deep.
    """
    try:
        body = loads(raw)
    except DecodeError as exc:
        raise InvalidJson(str(exc)) from None
    if not isinstance(body, dict):
        raise BadMessage(refusal)
    if too_deep(body, MAX_DEPTH):
        raise BadMessage(f"body nested deeper than {MAX_DEPTH} levels")
    return body


def parse(
    raw: str | bytes,
    app: AgentApp,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    default_action: str | None = None,
) -> Command:
    """The command in ``raw``, a client message for ``app``.

    Args:
        raw: The message as received (text is counted in UTF-8 bytes).
        app: The app whose routes name the actions.
        max_bytes: The largest message accepted; one byte more is ``message_too_large``.
        default_action: The action of a message that names none (an app's HTTP door).

    Raises:
        BadMessage: one of its leaves, naming the problem; ``request_id`` is set when the
            message carried one.
    """
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > max_bytes:
        raise MessageTooLarge(
            f"message too large: {size} bytes (limit {max_bytes})", request_id=_peek_id(raw)
        )
    try:
        body = loads(raw)
    except DecodeError as exc:
        raise InvalidJson(str(exc)) from None
    if not isinstance(body, dict):
        raise BadMessage("a message must be a JSON object with an 'action' field")
    request_id = request_id_of(body)
    if too_deep(body, MAX_DEPTH):
        raise BadMessage(f"message nested deeper than {MAX_DEPTH} levels", request_id=request_id)
    try:
        return _command(body, app, request_id, default_action)
    except BadMessage as exc:
        exc.request_id = request_id
        raise


def _peek_id(raw: str | bytes) -> RequestId:
    """The ``requestId`` of a message refused before parsing, so its error still pairs."""
    try:
        body = loads(raw)
    except DecodeError:
        return None
    return request_id_of(body) if isinstance(body, dict) else None


def request_id_of(body: dict[str, Any]) -> RequestId:
    """The message's ``requestId`` when it is a short string or a safe integer, else None.

    Anything else (an object, a boolean, a long string, a huge number) is not echoed: the client
    could not pair it anyway, and echoing it could make an answer that cannot be encoded.
    """
    value = body.get("requestId")
    if isinstance(value, str) and len(value) <= MAX_REQUEST_ID_CHARS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_REQUEST_ID_INT:
        return value
    return None


def too_deep(value: object, limit: int) -> bool:
    """Whether JSON ``value`` nests lists/objects more than ``limit`` levels (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


def _command(
    body: dict[str, Any], app: AgentApp, request_id: RequestId, default_action: str | None
) -> Command:
    action = body.get("action", default_action)
    if action == "ping":
        return Ping(request_id=request_id)
    if action == "cancel":
        return Cancel(run_id=_run_id(body, action), request_id=request_id)
    if action == "resume":
        return Resume(run_id=_run_id(body, action), last_seq=_last_seq(body), request_id=request_id)
    route = _selected(app, action)
    fields = {k: v for k, v in body.items() if k not in ("action", "requestId")}
    try:
        request = route.request.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(validation_message(exc)) from None
    named = action if isinstance(action, str) else None
    kind = StartRun if route.streams else Reply
    return kind(route=route, request=request, action=named, request_id=request_id)


def _selected(app: AgentApp, action: object) -> Route:
    route = app.select(action)
    if route is None:
        known = ", ".join(app.actions)
        if action is None:
            raise UnknownAction(f"missing 'action' (one of: {known})")
        raise UnknownAction(f"unknown action {action!r} (one of: {known})")
    return route


def _run_id(body: dict[str, Any], action: str) -> str:
    run_id = body.get("runId")
    if not isinstance(run_id, str) or not run_id:
        raise BadMessage(f"{action}: 'runId' must be a non-empty string")
    return run_id


def _last_seq(body: dict[str, Any]) -> int:
    last_seq = body.get("lastSeq", 0)
    if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
        raise BadMessage(f"resume: 'lastSeq' must be an integer from 0 to {MAX_SEQ}")
    return last_seq


def validation_message(exc: ValidationError) -> str:
    """One line naming each field that failed and why."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "invalid request: " + "; ".join(parts)
