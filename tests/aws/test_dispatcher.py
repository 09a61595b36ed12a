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


async def test_a_run_ending_between_subscribe_and_release_is_replayed_by_the_resumer(
    world: AwsWorld,
) -> None:
    """The run ends after the held subscribe: the producer skipped us, so resume replays it all."""
    from agentstream.aws.dispatcher import AwsDispatcher
    from agentstream.aws.live import Subscription
    from agentstream.aws.peer import LambdaPeer
    from agentstream.aws.sender import Sender, management_client
    from agentstream.gateway.messages import Resume
    from agentstream.protocol.codec import encode
    from agentstream.protocol.dialects import get_dialect
    from agentstream.protocol.events import RunFinished, TextMessageChunk, stamp

    adapter = world.adapter
    await adapter.open()
    store, live, run_id = adapter.store, adapter.live, "run_race0001"
    await store.put_run(run_id, "ann", "awstest", "running", 3600, {})
    events = [
        stamp(TextMessageChunk(delta="a"), run_id=run_id, seq=1, ts=0.0),
        stamp(TextMessageChunk(delta="b"), run_id=run_id, seq=2, ts=0.0),
        stamp(RunFinished(result=None), run_id=run_id, seq=3, ts=0.0),
    ]
    await store.append_events(run_id, [(e.seq, encode(e)) for e in events])
    await store.set_run_state(run_id, "finished")
    await live.create(run_id, "ann", Subscription("old", 0, "calledit"))
    real_release = live.release

    async def release_after_the_end(run: str, conn: str) -> bool:
        await live.finish(run)  # the producer finishes right here
        return await real_release(run, conn)

    live.release = release_after_the_end  # type: ignore[method-assign]
    sender = Sender(management_client(world.stub.endpoint, region="us-east-1"))
    dispatcher = AwsDispatcher(adapter.app, adapter.settings, store=store, live=live, sender=sender)
    peer = LambdaPeer("racer", "ann", get_dialect("calledit"))
    await dispatcher.resume(Resume(run_id=run_id, last_seq=1), peer)
    await peer.flush(sender)
    got = frames(world, "racer")
    assert got[0] == {"type": "resume", "runId": run_id, "state": "running", "lastSeq": 1}
    assert [f["seq"] for f in got[1:]] == [2, 3] and got[-1]["type"] == "complete"
