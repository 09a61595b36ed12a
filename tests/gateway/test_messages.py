"""Parsing client messages into commands, with no socket: each command and each bad message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentstream.errors import BadRequest
from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.gateway.messages import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_SEQ,
    BadMessage,
    Cancel,
    InvalidJson,
    InvalidRequest,
    MessageTooLarge,
    Ping,
    Reply,
    Resume,
    StartRun,
    UnknownAction,
    json_object,
    parse,
)
from agentstream.gateway.routes import AgentApp
from agentstream.protocol.events import Event, RunFinished


class Ask(BaseModel):
    prompt: str


class Note(BaseModel):
    text: str = ""


def make_app(with_default: bool = False) -> AgentApp:
    app = AgentApp(name="t")

    @app.run("ask", Ask)
    async def ask(request: Ask, ctx: RouteContext) -> AsyncIterator[Event]:
        yield RunFinished(result=None)

    @app.reply("note", Note)
    async def note(request: Note, ctx: ReplyContext) -> dict[str, Any]:
        return {}

    if with_default:

        @app.reply("$default", Note)
        async def default(request: Note, ctx: ReplyContext) -> dict[str, Any]:
            return {}

    return app


APP = make_app()


def raw(**body: Any) -> str:
    return json.dumps(body)


def test_a_run_action_parses_to_start_run_with_its_validated_request() -> None:
    """A run route's message becomes StartRun with the validated model and the requestId."""
    command = parse(raw(action="ask", prompt="hi", requestId="r1"), APP)
    assert isinstance(command, StartRun)
    assert command.request == Ask(prompt="hi") and command.request_id == "r1"
    assert command.action == "ask" and command.route.action == "ask"


def test_a_reply_action_parses_to_reply() -> None:
    """A reply route's message becomes Reply (integer requestIds are kept as integers)."""
    command = parse(raw(action="note", text="x", requestId=7), APP)
    assert isinstance(command, Reply) and command.request == Note(text="x")
    assert command.request_id == 7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"action": "ping", "requestId": "p"}, Ping(request_id="p")),
        ({"action": "cancel", "runId": "run_1"}, Cancel(run_id="run_1")),
        ({"action": "resume", "runId": "run_1"}, Resume(run_id="run_1", last_seq=0)),
        (
            {"action": "resume", "runId": "run_1", "lastSeq": 5, "requestId": "q"},
            Resume(run_id="run_1", last_seq=5, request_id="q"),
        ),
    ],
)
def test_built_in_actions_parse_to_their_commands(body: dict[str, Any], expected: object) -> None:
    """ping, cancel and resume become typed commands with their fields."""
    assert parse(json.dumps(body), APP) == expected


def test_commands_are_frozen() -> None:
    """A parsed command cannot be changed after the fact."""
    command = parse(raw(action="ping"), APP)
    with pytest.raises(AttributeError):
        command.request_id = "x"  # type: ignore[misc]


def test_a_request_id_that_is_neither_string_nor_integer_is_ignored() -> None:
    """A boolean or object requestId is not echoed (a client could not pair it anyway)."""
    assert parse(raw(action="ping", requestId=True), APP) == Ping()
    assert parse(raw(action="ping", requestId={"a": 1}), APP) == Ping()


@pytest.mark.parametrize(
    ("text", "leaf", "code"),
    [
        ("{", InvalidJson, "invalid_json"),
        ("[1, 2]", BadMessage, "bad_request"),
        (raw(prompt="no action"), UnknownAction, "unknown_action"),
        (raw(action="nope"), UnknownAction, "unknown_action"),
        (raw(action="ask"), InvalidRequest, "invalid_request"),
        (raw(action="cancel"), BadMessage, "bad_request"),
        (raw(action="cancel", runId=""), BadMessage, "bad_request"),
        (raw(action="resume", runId="r", lastSeq=-1), BadMessage, "bad_request"),
        (raw(action="resume", runId="r", lastSeq=True), BadMessage, "bad_request"),
        (raw(action="resume", runId="r", lastSeq="3"), BadMessage, "bad_request"),
    ],
)
def test_each_bad_message_raises_its_leaf_and_code(
    text: str, leaf: type[BadMessage], code: str
) -> None:
    """Each kind of bad message raises its own BadMessage leaf carrying its code."""
    with pytest.raises(leaf) as caught:
        parse(text, APP)
    assert caught.value.code == code
    assert isinstance(caught.value, BadRequest)


def test_status_codes_follow_the_leaf() -> None:
    """Invalid requests are HTTP 422, too-large 413, the other bad messages 400."""
    assert InvalidRequest("x").http_status == 422
    assert MessageTooLarge("x").http_status == 413
    assert UnknownAction("x").http_status == InvalidJson("x").http_status == 400


def test_an_instance_may_narrow_code_and_status() -> None:
    """An app error built on BadMessage may give its own code and status per instance."""
    exc = BadMessage("gone", "not_found", 404)
    assert (exc.code, exc.http_status) == ("not_found", 404)
    assert BadMessage("x").code == "bad_request"  # the class default is untouched


def test_invalid_request_names_each_field() -> None:
    """Validation errors name the field that failed."""
    with pytest.raises(InvalidRequest, match="prompt"):
        parse(raw(action="ask", prompt=3), APP)


def test_unknown_action_lists_the_known_ones() -> None:
    """The error for an unknown action names every action the client may send."""
    with pytest.raises(UnknownAction) as caught:
        parse(raw(action="nope"), APP)
    for action in ("ask", "note", "cancel", "resume", "ping"):
        assert action in str(caught.value)


def test_default_route_catches_unknown_actions() -> None:
    """With $default, an unknown action is a command of that route, keeping the action sent."""
    command = parse(raw(action="other", text="t"), make_app(with_default=True))
    assert isinstance(command, Reply) and command.route.action == "$default"
    assert command.action == "other"


def test_default_action_fills_a_message_that_names_none() -> None:
    """An HTTP door's default action applies when the body has no action."""
    assert isinstance(parse(raw(prompt="p"), APP, default_action="ask"), StartRun)


def test_the_request_id_travels_on_the_error() -> None:
    """A bad message that carried a requestId raises with it, so the error frame can echo it."""
    with pytest.raises(BadMessage) as caught:
        parse(raw(action="nope", requestId="r9"), APP)
    assert caught.value.request_id == "r9"


def padded(size: int, char: str = "a") -> str:
    """A valid ping of exactly ``size`` UTF-8 bytes (``char`` may be multi-byte)."""
    head = '{"action":"ping","pad":"'
    tail = '"}'
    room = size - len(head) - len(tail)
    width = len(char.encode())
    body = char * (room // width) + "a" * (room % width)
    text = head + body + tail
    assert len(text.encode()) == size
    return text


def test_the_limit_is_128_kib() -> None:
    """API Gateway's limit: 128 * 1024 bytes."""
    assert MAX_MESSAGE_BYTES == 128 * 1024


def test_a_message_of_exactly_the_limit_passes() -> None:
    """A message of exactly 128 KiB is accepted (the limit is inclusive)."""
    assert parse(padded(MAX_MESSAGE_BYTES), APP) == Ping()


def test_one_byte_over_the_limit_is_refused() -> None:
    """A message one byte over 128 KiB is message_too_large."""
    with pytest.raises(MessageTooLarge) as caught:
        parse(padded(MAX_MESSAGE_BYTES + 1), APP)
    assert caught.value.code == "message_too_large"
    assert str(MAX_MESSAGE_BYTES + 1) in str(caught.value)
    with pytest.raises(MessageTooLarge) as tagged:
        parse(padded(MAX_MESSAGE_BYTES + 1).replace('"pad"', '"requestId":"t","pad"', 1), APP)
    assert tagged.value.request_id == "t"  # the error still pairs with its message


def test_one_byte_under_the_limit_passes() -> None:
    """A message one byte under the limit is accepted."""
    assert parse(padded(MAX_MESSAGE_BYTES - 1), APP) == Ping()


def test_multi_byte_text_is_counted_in_bytes_not_characters() -> None:
    """Text of fewer characters than the limit but more UTF-8 bytes is refused."""
    text = padded(MAX_MESSAGE_BYTES + 3, "€")  # three bytes a character
    assert len(text) < MAX_MESSAGE_BYTES
    with pytest.raises(MessageTooLarge):
        parse(text, APP)
    assert parse(padded(MAX_MESSAGE_BYTES, "€"), APP) == Ping()


def test_bytes_are_counted_as_they_are() -> None:
    """A binary frame is counted by its length, with the same inclusive limit."""
    data = padded(MAX_MESSAGE_BYTES, "é").encode()
    assert parse(data, APP) == Ping()
    with pytest.raises(MessageTooLarge):
        parse(data + b" ", APP)


def test_a_smaller_limit_applies_when_given() -> None:
    """The limit comes from the caller (the server's settings)."""
    with pytest.raises(MessageTooLarge):
        parse(padded(100), APP, max_bytes=99)
    assert parse(padded(100), APP, max_bytes=100) == Ping()


@pytest.mark.parametrize("request_id", ["x" * 129, 2**53, -(2**64), 2**70])
def test_a_long_or_huge_request_id_is_not_echoed(request_id: object) -> None:
    """A requestId over 128 characters or beyond a safe integer is dropped, never echoed."""
    assert parse(json.dumps({"action": "ping", "requestId": request_id}), APP) == Ping()
    kept = parse(json.dumps({"action": "ping", "requestId": "x" * 128}), APP)
    assert kept == Ping(request_id="x" * 128)


def test_json_nested_deeper_than_the_limit_is_a_bad_request() -> None:
    """A message nested past MAX_DEPTH is refused; one at the limit passes."""

    def nested(depth: int) -> str:
        return '{"action":"ping","x":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert parse(nested(MAX_DEPTH), APP) == Ping()
    with pytest.raises(BadMessage) as caught:
        parse(nested(MAX_DEPTH + 1), APP)
    assert caught.value.code == "bad_request"


def test_a_last_seq_past_64_bits_is_a_bad_request() -> None:
    """lastSeq must fit a store's 64-bit column: 2**63 is refused, 2**63 - 1 passes."""
    assert parse(raw(action="resume", runId="r", lastSeq=MAX_SEQ), APP) == Resume(
        run_id="r", last_seq=MAX_SEQ
    )
    with pytest.raises(BadMessage):
        parse(raw(action="resume", runId="r", lastSeq=MAX_SEQ + 1), APP)


def test_json_object_refuses_non_json_non_objects_and_deep_nesting() -> None:
    """An HTTP body decodes to a dict, else InvalidJson or BadMessage naming what it must be."""
    assert json_object(b'{"a": [1]}', "must be X") == {"a": [1]}
    with pytest.raises(InvalidJson):
        json_object("{", "must be X")
    with pytest.raises(BadMessage, match="must be X"):
        json_object("[1]", "must be X")
    with pytest.raises(BadMessage, match="nested deeper"):
        json_object('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "must be X")
