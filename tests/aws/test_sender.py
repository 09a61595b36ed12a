"""The sender against a real HTTP stand-in for the management API, through real boto3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentstream.aws.sender import (
    MAX_FRAME_BYTES,
    FrameTooLarge,
    Sender,
    SendFailed,
    error_code,
    management_client,
)
from tests.aws.mgmt_stub import ManagementStub


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementStub]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with ManagementStub() as server:
        yield server


def sender_for(stub: ManagementStub, **kwargs: object) -> tuple[Sender, list[float]]:
    slept: list[float] = []
    client = management_client(stub.endpoint, region="us-east-1")
    return Sender(client, sleep=slept.append, **kwargs), slept  # type: ignore[arg-type]


def test_frames_arrive_in_order_one_post_each(stub: ManagementStub) -> None:
    """Each frame is one POST to @connections/{id}, in the order given, with its exact bytes."""
    sender, _ = sender_for(stub)
    frames = ['{"type":"text","content":"Hé"}', '{"type":"complete"}']
    assert sender.post_all("abc=", frames)
    assert stub.texts("abc=") == frames
    assert sender.posts == 2


def test_gone_client_returns_false_and_stops(stub: ManagementStub) -> None:
    """A 410 GoneException says the client left: False, and later frames are not posted."""
    stub.gone.add("left")
    sender, _ = sender_for(stub)
    assert sender.post_all("left", ["a", "b"]) is False
    assert stub.frames["left"] == []


def test_throttled_post_backs_off_then_succeeds(stub: ManagementStub) -> None:
    """429 LimitExceededException twice: two growing backoffs, then the frame goes through once."""
    stub.throttle = 2
    sender, slept = sender_for(stub, backoff_s=0.01)
    assert sender.post("c", "x")
    assert stub.texts("c") == ["x"]
    assert len(slept) == 2 and sender.throttled == 2
    assert 0.005 <= slept[0] <= 0.01 and 0.01 <= slept[1] <= 0.02


def test_throttled_past_every_retry_raises_send_failed(stub: ManagementStub) -> None:
    """Still throttled after every retry: SendFailed, not a silent loss."""
    stub.throttle = 10
    sender, slept = sender_for(stub, retries=2, backoff_s=0.001)
    with pytest.raises(SendFailed):
        sender.post("c", "x")
    assert len(slept) == 2 and stub.frames["c"] == []


def test_frame_at_the_limit_passes_one_byte_more_is_refused(stub: ManagementStub) -> None:
    """128 KB exactly is posted; one byte more (counted in UTF-8) raises FrameTooLarge unposted."""
    sender, _ = sender_for(stub)
    assert sender.post("big", "a" * MAX_FRAME_BYTES)
    with pytest.raises(FrameTooLarge):
        sender.post("big", "é" * (MAX_FRAME_BYTES // 2) + "a")
    assert len(stub.frames["big"]) == 1


def test_delete_closes_and_tolerates_a_gone_client(stub: ManagementStub) -> None:
    """DELETE @connections closes a client; deleting one already gone is not an error."""
    sender, _ = sender_for(stub)
    sender.delete("x")
    sender.delete("x")
    assert stub.deleted == ["x"]
    assert sender.post("x", "late") is False


def test_error_code_of_a_non_client_error_is_empty() -> None:
    """An exception without an AWS response has no code and no status."""
    assert error_code(ValueError("no")) == ("", 0)
