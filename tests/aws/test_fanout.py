"""The producing invocation's fanout: window merging, held subscribers, detach, cancel flag."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson

from agentstream.aws.fanout import Fanout
from agentstream.aws.live import Subscription
from agentstream.aws.sender import Sender, management_client
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk
from agentstream.runs.run import Run
from tests.aws.lambda_world import AwsWorld


def words(n: int, delay: float, release: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
    async def produce(run: Run) -> AsyncIterator[Event]:
        for i in range(n):
            if run.cancel_signal.is_set():
                return
            await asyncio.sleep(delay)
            yield TextMessageChunk(delta=f"w{i} ")
            if release is not None and i == 0:
                await release.wait()
        yield RunFinished(result=None)

    return produce


async def fanout_for(world: AwsWorld, run: Run, **kwargs: float) -> Fanout:
    await world.adapter.open()
    sender = Sender(management_client(world.stub.endpoint, region="us-east-1"))
    return Fanout(run, world.adapter.live, sender, **kwargs)  # type: ignore[arg-type]


def posted(world: AwsWorld, conn: str) -> list[dict[str, object]]:
    return [orjson.loads(f) for f in world.stub.frames[conn]]


async def test_text_within_a_window_is_merged_into_few_posts(world: AwsWorld) -> None:
    """50 words at 2 ms each with a 100 ms window: all text arrives, in far fewer posts."""
    run = Run(owner="u")
    fanout = await fanout_for(world, run, window_s=0.1)
    await world.adapter.live.create(run.id, "u", Subscription("s1", 0, "agentstream"))
    run.start(words(50, 0.002))
    await fanout.serve()
    frames = posted(world, "s1")
    text = "".join(str(f["delta"]) for f in frames if f["type"] == "TEXT_MESSAGE_CHUNK")
    assert text == "".join(f"w{i} " for i in range(50))
    assert len(frames) < 20 and frames[-1]["type"] == "RUN_FINISHED"


async def test_a_held_subscriber_gets_nothing_until_released(world: AwsWorld) -> None:
    """A held resume is skipped by the producer (the resumer answers it first)."""
    run = Run(owner="u")
    fanout = await fanout_for(world, run, window_s=0.02)
    await world.adapter.live.create(run.id, "u", Subscription("h0", 0, "agentstream"))
    await world.adapter.live.subscribe(run.id, "u", Subscription("h1", 0, "agentstream", True))
    run.start(words(5, 0.01))
    await fanout.serve()
    assert world.stub.frames["h1"] == [] and posted(world, "h0")[-1]["type"] == "RUN_FINISHED"


async def test_a_raised_cancel_flag_stops_the_run(world: AwsWorld) -> None:
    """The producer sees the cancel flag at its next flush and the run ends cancelled."""
    run = Run(owner="u")
    fanout = await fanout_for(world, run, window_s=0.02)
    await world.adapter.live.create(run.id, "u", Subscription("x1", 0, "agentstream"))
    run.start(words(10_000, 0.005))
    serving = asyncio.create_task(fanout.serve())
    await asyncio.sleep(0.1)
    assert await world.adapter.live.request_cancel(run.id, "u")
    await asyncio.wait_for(serving, 20)
    last = posted(world, "x1")[-1]
    assert last["type"] == "RUN_ERROR" and last["code"] == "cancelled"


async def test_a_run_nobody_streams_is_cancelled_after_the_grace(world: AwsWorld) -> None:
    """No subscriber left: cancelled after detach_grace_s, as the local gateway does."""
    run = Run(owner="u")
    fanout = await fanout_for(world, run, window_s=0.02, detach_grace_s=0.1)
    await world.adapter.live.create(run.id, "u", Subscription("gone1", 0, "agentstream"))
    await world.adapter.live.unsubscribe(run.id, "gone1")
    run.start(words(10_000, 0.005))
    await asyncio.wait_for(fanout.serve(), 20)
    assert run.cancel_reason.startswith("Nobody resumed")


async def test_a_subscriber_behind_the_log_is_dropped(world: AwsWorld) -> None:
    """A lastSeq older than the bounded log keeps is a gap: the subscriber is dropped."""
    run = Run(owner="u", log_capacity=3)
    fanout = await fanout_for(world, run, window_s=0.02)
    await world.adapter.live.create(run.id, "u", Subscription("lag", 0, "agentstream"))
    release = asyncio.Event()
    run.start(words(10, 0.0, release))
    await asyncio.sleep(0.05)
    for _ in range(10):
        run.publish(TextMessageChunk(delta="x"))
    release.set()
    await asyncio.wait_for(fanout.serve(), 20)
    assert world.stub.frames["lag"] == []
    assert "lag" not in (await world.adapter.live.read(run.id)).subs  # type: ignore[union-attr]
