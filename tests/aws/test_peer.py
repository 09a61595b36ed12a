"""The Lambda peer: answers kept in the dialect, posted in order; oversized frames replaced."""

from __future__ import annotations

import orjson

from agentstream.aws.peer import LambdaPeer, post_frames
from agentstream.aws.sender import MAX_FRAME_BYTES, Sender, management_client
from agentstream.protocol.control import Pong
from agentstream.protocol.dialects import get_dialect
from agentstream.protocol.events import TextMessageChunk, stamp
from tests.aws.lambda_world import AwsWorld


def sender(world: AwsWorld) -> Sender:
    return Sender(management_client(world.stub.endpoint, region="us-east-1"))


async def test_answers_and_events_are_posted_in_order_in_the_dialect(world: AwsWorld) -> None:
    """pong then two merged text events: two posts, CalledIt-shaped, in order, firstSeq named."""
    peer = LambdaPeer("p1", "u", get_dialect("calledit"))
    peer.answer(Pong(request_id=3))
    for seq, word in ((1, "a"), (2, "b")):
        peer.deliver(stamp(TextMessageChunk(delta=word), run_id="r", seq=seq, ts=0.0))
    assert await peer.flush(sender(world))
    frames = [orjson.loads(f) for f in world.stub.frames["p1"]]
    assert frames == [
        {"type": "pong", "requestId": 3},
        {"type": "text", "content": "ab", "runId": "r", "seq": 2, "firstSeq": 1},
    ]


async def test_a_peer_whose_client_left_reports_it(world: AwsWorld) -> None:
    """410 on flush: False, and the peer remembers the client is gone."""
    world.stub.gone.add("p2")
    peer = LambdaPeer("p2", "u", get_dialect("agentstream"))
    peer.answer(Pong())
    assert not await peer.flush(sender(world)) and peer.gone
    assert not await peer.flush(sender(world))


def test_a_frame_over_the_limit_is_replaced_by_an_error_frame(world: AwsWorld) -> None:
    """A frame over 128 KB is not posted: an error frame frame_too_large is, and the rest go."""
    big = "x" * (MAX_FRAME_BYTES + 1)
    assert post_frames(sender(world), "p3", get_dialect("calledit"), [big, '{"ok":1}'])
    first, second = (orjson.loads(f) for f in world.stub.frames["p3"])
    assert first["type"] == "error" and first["code"] == "frame_too_large"
    assert second == {"ok": 1}
