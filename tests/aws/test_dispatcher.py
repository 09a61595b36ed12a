"""The AWS dispatcher's cross-invocation cancel and resume answers (through the adapter)."""

from __future__ import annotations

import threading

import orjson

from tests.aws.lambda_world import AwsWorld, connect_event, message_event


def frames(world: AwsWorld, conn: str) -> list[dict[str, object]]:
    return [orjson.loads(f) for f in world.stub.frames[conn]]


def finished_run(world: AwsWorld, conn: str, user: str) -> str:
    world.adapter(connect_event(conn, user))
    world.adapter(message_event(conn, {"action": "count", "n": 3}, user))
    worker = threading.Thread(target=world.adapter, args=(world.launcher.payloads.pop(), None))
    worker.start()
    worker.join(30)
    return str(frames(world, conn)[0]["runId"])


def test_cancel_of_a_finished_run_says_so(world: AwsWorld) -> None:
    """cancel after the end answers the recorded end state, as the local gateway does."""
    run_id = finished_run(world, "d1", "ann")
    world.adapter(message_event("d1", {"action": "cancel", "runId": run_id, "requestId": 2}, "ann"))
    answer = frames(world, "d1")[-1]
    assert answer == {
        "type": "cancel",
        "runId": run_id,
        "state": "finished",
        "message": "run already finished",
        "requestId": 2,
    }


def test_resume_of_an_unknown_run_says_unknown(world: AwsWorld) -> None:
    """resume of an id that never existed answers unknown."""
    world.adapter(connect_event("d2", "ann"))
    world.adapter(message_event("d2", {"action": "resume", "runId": "run_x"}, "ann"))
    assert frames(world, "d2") == [
        {"type": "resume", "runId": "run_x", "state": "unknown", "lastSeq": 0}
    ]


def test_resume_of_someone_elses_finished_run_says_unknown(world: AwsWorld) -> None:
    """A finished run of another user replays nothing and answers unknown."""
    run_id = finished_run(world, "d3", "ann")
    world.adapter(connect_event("d4", "bea"))
    world.adapter(message_event("d4", {"action": "resume", "runId": run_id}, "bea"))
    assert frames(world, "d4") == [
        {"type": "resume", "runId": run_id, "state": "unknown", "lastSeq": 0}
    ]
