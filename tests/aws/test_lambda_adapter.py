"""The Lambda adapter, invoked in-process with API Gateway-shaped events, on moto + a real stub."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson

from agentstream.aws.lambda_adapter import LambdaAdapter, lambda_handler
from agentstream.aws.launch import QueueLauncher
from tests.aws.lambda_world import (
    AwsWorld,
    connect_event,
    disconnect_event,
    http_event,
    make_app,
    message_event,
)


def run_worker(world: AwsWorld) -> threading.Thread:
    """Start the worker invocation of the last launched run in a thread (as Lambda would)."""
    payload = world.launcher.payloads.pop()
    thread = threading.Thread(target=world.adapter, args=(payload, None))
    thread.start()
    return thread


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def texts(frames: list[dict[str, Any]]) -> str:
    return "".join(f["content"] for f in frames if f["type"] == "text")


def test_connect_records_the_row_and_disconnect_deletes_it(world: AwsWorld) -> None:
    """$connect writes the connection row (user, dialect, TTL); $disconnect deletes it."""
    assert world.adapter(connect_event("c1=", "alice")) == {"statusCode": 200}
    row = asyncio.run(world.adapter.store.get_connection("c1="))
    assert row.user_id == "alice" and row.meta == {"dialect": "calledit"}
    assert row.expires_at > time.time()
    assert world.adapter(disconnect_event("c1=", "alice")) == {"statusCode": 200}
    assert asyncio.run(world.adapter.store.get_connection("c1=")) is None


def test_an_offered_subprotocol_is_accepted_in_the_response(world: AwsWorld) -> None:
    """A client offering a dialect as subprotocol gets it back in Sec-WebSocket-Protocol."""
    answer = world.adapter(connect_event("c2", "alice", protocol="nope, agentstream"))
    assert answer["headers"] == {"Sec-WebSocket-Protocol": "agentstream"}
    row = asyncio.run(world.adapter.store.get_connection("c2"))
    assert row.meta == {"dialect": "agentstream"}


def test_an_unknown_dialect_refuses_the_connection(world: AwsWorld) -> None:
    """?dialect=unknown answers $connect with 400, so API Gateway refuses the handshake."""
    assert world.adapter(connect_event("c3", query={"dialect": "klingon"}))["statusCode"] == 400
    assert asyncio.run(world.adapter.store.get_connection("c3")) is None


def test_ping_and_a_reply_route_are_answered_through_the_management_api(world: AwsWorld) -> None:
    """ping gets pong and a reply route its result, posted to the connection, with requestIds."""
    world.adapter(connect_event("c4", "alice"))
    world.adapter(message_event("c4", {"action": "ping", "requestId": 1}, "alice"))
    world.adapter(message_event("c4", {"action": "whoami", "requestId": "r"}, "alice"))
    pong, reply = world.frames("c4")
    assert pong == {"type": "pong", "requestId": 1}
    assert reply == {"type": "whoami_result", "user": "alice", "requestId": "r"}


def test_without_an_authorizer_the_user_is_the_connections_own(world: AwsWorld) -> None:
    """No authorizer: the user is an anonymous id of this connection."""
    world.adapter(connect_event("c5"))
    world.adapter(message_event("c5", {"action": "whoami"}))
    assert world.frames("c5") == [{"type": "whoami_result", "user": "anon-c5"}]


def test_bad_messages_get_error_frames_named_by_code(world: AwsWorld) -> None:
    """Not JSON, an unknown action, bad fields: one error frame each, with the gateway's codes."""
    world.adapter(connect_event("c6", "alice"))
    world.adapter(message_event("c6", "{nope", "alice"))
    world.adapter(message_event("c6", {"action": "fly"}, "alice"))
    world.adapter(message_event("c6", {"action": "count", "n": "x", "requestId": 7}, "alice"))
    codes = [(f["type"], f["code"]) for f in world.frames("c6")]
    assert codes == [
        ("error", "invalid_json"),
        ("error", "unknown_action"),
        ("error", "invalid_request"),
    ]
    assert world.frames("c6")[2]["requestId"] == 7
    assert world.launcher.payloads == []


def test_a_run_is_produced_by_the_worker_and_streams_merged(world: AwsWorld) -> None:
    """A run starts in a worker invocation; its text arrives merged, then complete, seq rising."""
    world.adapter(connect_event("c7", "alice"))
    world.adapter(message_event("c7", {"action": "count", "n": 30, "delay": 0.005}, "alice"))
    assert world.stub.frames["c7"] == []  # the receiving invocation produced nothing itself
    run_worker(world).join(30)
    frames = world.frames("c7")
    assert frames[0]["type"] == "status" and frames[0]["status"] == "started"
    assert texts(frames) == "".join(f"w{i} " for i in range(30))
    assert frames[-1]["type"] == "complete" and frames[-1]["content"]["user"] == "alice"
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)) and seqs[-1] == 32
    assert len(frames) < 32  # merged: fewer posts than events


def _start(world: AwsWorld, conn: str, user: str, n: int, delay: float) -> threading.Thread:
    world.adapter(connect_event(conn, user))
    world.adapter(message_event(conn, {"action": "count", "n": n, "delay": delay}, user))
    thread = run_worker(world)
    wait_for(lambda: len(world.stub.frames[conn]) >= 2)
    return thread


def test_resume_on_a_new_connection_replays_then_streams_live(world: AwsWorld) -> None:
    """A client that drops mid-run resumes on a new connection id: no gap, no duplicate, live."""
    thread = _start(world, "a1", "bob", 40, 0.03)
    world.stub.gone.add("a1")
    world.adapter(disconnect_event("a1", "bob"))
    seen = world.frames("a1")
    run_id, last_seq = seen[0]["runId"], seen[-1]["seq"]
    world.adapter(connect_event("a2", "bob"))
    world.adapter(
        message_event("a2", {"action": "resume", "runId": run_id, "lastSeq": last_seq}, "bob")
    )
    thread.join(30)
    rest = world.frames("a2")
    assert rest[0] == {"type": "resume", "runId": run_id, "state": "running", "lastSeq": last_seq}
    assert all(f["seq"] > last_seq for f in rest[1:])
    assert texts(seen) + texts(rest[1:]) == "".join(f"w{i} " for i in range(40))
    assert rest[-1]["type"] == "complete"
    assert len(world.stub.times["a2"]) > 2  # more than one post: the rest came live


def test_cancel_from_a_second_connection_stops_the_run(world: AwsWorld) -> None:
    """The owner cancels from another connection: answered cancelling; the run ends cancelled."""
    thread = _start(world, "k1", "carol", 500, 0.02)
    run_id = world.frames("k1")[0]["runId"]
    world.adapter(connect_event("k2", "carol"))
    world.adapter(message_event("k2", {"action": "cancel", "runId": run_id}, "carol"))
    thread.join(30)
    assert not thread.is_alive()
    answer = world.frames("k2")[0]
    assert answer["type"] == "cancel" and answer["state"] == "cancelling"
    last = world.frames("k1")[-1]
    assert last["type"] == "error" and last["code"] == "cancelled"
    assert texts(world.frames("k1")).count("w") < 500


def test_another_user_gets_unknown_for_resume_and_cancel(world: AwsWorld) -> None:
    """Resume and cancel by someone else answer as for an id that never existed."""
    thread = _start(world, "o1", "dave", 30, 0.02)
    run_id = world.frames("o1")[0]["runId"]
    world.adapter(connect_event("o2", "mallory"))
    world.adapter(message_event("o2", {"action": "cancel", "runId": run_id}, "mallory"))
    world.adapter(message_event("o2", {"action": "resume", "runId": run_id}, "mallory"))
    world.adapter(message_event("o2", {"action": "cancel", "runId": "run_nope"}, "mallory"))
    thread.join(30)
    cancel, resume, unknown = world.frames("o2")
    assert cancel["state"] == "unknown" and resume["state"] == "unknown"
    assert {k: v for k, v in cancel.items() if k != "runId"} == {
        k: v for k, v in unknown.items() if k != "runId"
    }
    assert world.frames("o1")[-1]["type"] == "complete"


def test_resume_after_the_end_replays_the_recorded_log(world: AwsWorld) -> None:
    """A resume after the run finished replays the rest from the store and says finished."""
    _start(world, "f1", "erin", 5, 0.0).join(30)
    seen = world.frames("f1")
    run_id = seen[0]["runId"]
    world.adapter(connect_event("f2", "erin"))
    world.adapter(message_event("f2", {"action": "resume", "runId": run_id, "lastSeq": 1}, "erin"))
    answer, *rest = world.frames("f2")
    assert answer["type"] == "resume" and answer["state"] == "finished"
    assert texts(rest) == texts(seen) and rest[-1]["type"] == "complete"


def test_a_client_that_left_is_detached_and_its_row_deleted(world: AwsWorld) -> None:
    """410 GoneException while streaming: the subscriber is dropped and the connection row goes."""
    thread = _start(world, "g1", "fay", 20, 0.02)
    world.stub.gone.add("g1")
    run_id = world.frames("g1")[0]["runId"]
    wait_for(lambda: asyncio.run(world.adapter.store.get_connection("g1")) is None)
    live = asyncio.run(world.adapter.live.read(run_id))
    assert live is not None and "g1" not in live.subs
    thread.join(30)


def test_lambda_handler_builds_an_adapter_for_an_app() -> None:
    """lambda_handler(app) is the adapter for that app."""
    handler = lambda_handler(make_app())
    from agentstream import aws

    assert aws.lambda_handler is lambda_handler
    assert isinstance(handler, LambdaAdapter) and handler.app.name == "awstest"


def test_an_event_without_a_connection_id_is_refused(world: AwsWorld) -> None:
    """An event that is no WebSocket event answers 400 instead of crashing."""
    assert world.adapter({"hello": 1})["statusCode"] == 400
    assert isinstance(world.launcher, QueueLauncher)


def test_an_http_api_request_is_answered_with_the_runs_last_frame(world: AwsWorld) -> None:
    """The same handler serves the HTTP API: a run answers its terminal frame, a reply its body."""
    answer = world.adapter(http_event({"action": "count", "n": 3}, user="hal"))
    assert answer["statusCode"] == 200
    frame = orjson.loads(answer["body"])
    assert frame["type"] == "complete" and frame["content"] == {"counted": 3, "user": "hal"}
    reply = world.adapter(http_event({"action": "whoami"}, user="hal"))
    assert orjson.loads(reply["body"]) == {"user": "hal"}


def test_bad_http_requests_get_clear_errors(world: AwsWorld) -> None:
    """GET is 405, a bad body 400/422 with the dialect's error frame; nothing crashes."""
    assert world.adapter(http_event({}, method="GET"))["statusCode"] == 405
    bad = world.adapter(http_event({"action": "count", "n": "x"}))
    assert bad["statusCode"] == 422 and orjson.loads(bad["body"])["code"] == "invalid_request"


def test_the_adapter_writes_emf_lines_with_the_right_figures(world: AwsWorld) -> None:
    """Connect, a run, disconnect: EMF lines count them, with the frames posted and timings."""
    from agentstream.aws.emf import Emf
    from tests.aws.test_emf import check_emf

    lines: list[str] = []
    world.adapter.emf = Emf("awstest", write=lines.append)
    world.adapter(connect_event("m1", "alice"))
    world.adapter(message_event("m1", {"action": "count", "n": 20, "delay": 0.005}, "alice"))
    run_worker(world).join(30)
    world.adapter(disconnect_event("m1", "alice"))
    connected, ran, disconnected = (check_emf(line) for line in lines)
    assert connected["Connections"] == 1 and disconnected["Disconnections"] == 1
    frames = world.frames("m1")
    assert (ran["App"], ran["State"], ran["RunId"]) == ("awstest", "finished", frames[0]["runId"])
    assert ran["Runs"] == 1 and ran["EventsSent"] == len(frames)
    assert 0 <= ran["FirstEventSeconds"] <= ran["RunSeconds"] < 30
