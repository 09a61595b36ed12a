"""The dispatcher with no socket: a fake peer sends commands and reads answers and events back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel

from agentstream.gateway.context import ReplyContext, RouteContext
from agentstream.gateway.dispatch import Dispatcher
from agentstream.gateway.messages import Cancel, Ping, Reply, Resume, StartRun, parse
from agentstream.gateway.routes import DEFAULT_ROUTE, AgentApp
from agentstream.gateway.settings import Settings
from agentstream.protocol.control import CancelAnswer, Control, Pong, ReplyAnswer, ResumeAnswer
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk


class Go(BaseModel):
    n: int = 3


@dataclass
class Peer:
    user: str = "u"
    connection_id: str = "c1"
    runs: set[str] = field(default_factory=set)
    events: list[Event] = field(default_factory=list)
    answers: list[Control] = field(default_factory=list)

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    def answer(self, control: Control) -> None:
        self.answers.append(control)


def make_app(gate: asyncio.Event | None = None) -> AgentApp:
    app = AgentApp(name="t")

    @app.run("go", Go)
    async def go(request: Go, ctx: RouteContext) -> AsyncIterator[Event]:
        for i in range(request.n):
            yield TextMessageChunk(delta=str(i))
        if gate is not None:
            await gate.wait()
        yield RunFinished(result={"user": ctx.user, "run": ctx.run.id})

    @app.reply("whoami", Go)
    async def whoami(request: Go, ctx: ReplyContext) -> dict[str, Any]:
        return {"user": ctx.user, "n": request.n}

    return app


def dispatcher(gate: asyncio.Event | None = None) -> Dispatcher:
    return Dispatcher(make_app(gate), Settings(model="scripted", store="none"))


async def test_ping_answers_pong_with_the_request_id() -> None:
    """ping gets pong carrying the same requestId."""
    peer = Peer()
    await dispatcher().dispatch(Ping(request_id="p1"), peer)
    assert peer.answers == [Pong(request_id="p1")]


async def test_a_reply_route_answers_its_result_with_the_request_id() -> None:
    """A reply route's answer is <action>_result with the reply and the requestId."""
    peer = Peer(user="ann")
    command = parse('{"action":"whoami","n":5,"requestId":"r"}', make_app())
    assert isinstance(command, Reply)
    await dispatcher().dispatch(command, peer)
    assert peer.answers == [
        ReplyAnswer(action="whoami", body={"user": "ann", "n": 5}, request_id="r")
    ]


async def test_a_run_streams_to_the_peer_that_started_it() -> None:
    """StartRun streams every event to the peer and records the run as the peer's."""
    peer, hub = Peer(), dispatcher()
    command = parse('{"action":"go","n":2,"requestId":"s"}', hub.app)
    assert isinstance(command, StartRun)
    run = await hub.dispatch(command, peer)
    assert run is not None and run.id in peer.runs
    await run.wait()
    assert [e.seq for e in peer.events] == [1, 2, 3, 4]
    assert peer.events[0].input == {"action": "go", "requestId": "s", "n": 2}  # type: ignore[attr-defined]
    assert peer.events[-1].result == {"user": "u", "run": run.id}  # type: ignore[attr-defined]


async def test_cancel_of_an_unknown_run_says_unknown() -> None:
    """Cancelling an id nobody holds answers state 'unknown'."""
    peer = Peer()
    await dispatcher().dispatch(Cancel(run_id="run_nope", request_id=3), peer)
    assert peer.answers == [
        CancelAnswer(run_id="run_nope", state="unknown", message="no such run", request_id=3)
    ]


async def test_cancel_by_another_user_looks_like_an_unknown_run() -> None:
    """A run is cancelled only by its owner; anyone else gets the unknown answer."""
    gate, owner, other = asyncio.Event(), Peer(user="a"), Peer(user="b")
    hub = dispatcher(gate)
    run = await hub.dispatch(parse('{"action":"go"}', hub.app), owner)
    assert run is not None
    await hub.dispatch(Cancel(run_id=run.id), other)
    assert isinstance(other.answers[0], CancelAnswer) and other.answers[0].state == "unknown"
    await hub.dispatch(Cancel(run_id=run.id, request_id="c"), owner)
    assert owner.answers[0] == CancelAnswer(
        run_id=run.id, state="cancelling", message="cancelling", request_id="c"
    )
    await run.wait()
    await hub.dispatch(Cancel(run_id=run.id), owner)
    assert owner.answers[1] == CancelAnswer(
        run_id=run.id, state="cancelled", message="run already cancelled"
    )


async def test_resume_answers_first_then_replays_the_missed_events() -> None:
    """resume answers the run's state, then replays after lastSeq and streams the rest."""
    gate, first, again = asyncio.Event(), Peer(), Peer(connection_id="c2")
    hub = dispatcher(gate)
    run = await hub.dispatch(parse('{"action":"go","n":3}', hub.app), first)
    assert run is not None
    await asyncio.sleep(0)  # let the producer reach the gate (any order is fine below)
    await hub.dispatch(Resume(run_id=run.id, last_seq=2, request_id="r"), again)
    assert again.answers == [
        ResumeAnswer(run_id=run.id, state="running", last_seq=2, request_id="r")
    ]
    gate.set()
    await run.wait()
    assert [e.seq for e in again.events] == list(range(3, run.last_seq + 1))
    assert run.id in again.runs


async def test_resume_of_an_unknown_run_without_a_store_says_unknown() -> None:
    """With no store, a run this process does not hold is unknown."""
    peer = Peer()
    await dispatcher().dispatch(Resume(run_id="run_gone", last_seq=4), peer)
    assert peer.answers == [ResumeAnswer(run_id="run_gone", state="unknown", last_seq=4)]
    assert peer.events == []


async def test_resume_after_the_log_dropped_events_says_expired() -> None:
    """A resume from before the kept log answers the state, then 'expired', and attaches nothing."""
    hub = Dispatcher(make_app(), Settings(model="scripted", store="none", log_capacity=3))
    first, again = Peer(), Peer()
    run = await hub.dispatch(parse('{"action":"go","n":6}', hub.app), first)
    assert run is not None
    await run.wait()
    await hub.dispatch(Resume(run_id=run.id, last_seq=1), again)
    states = [a.state for a in again.answers if isinstance(a, ResumeAnswer)]
    assert states == ["finished", "expired"] and again.events == []


@pytest.mark.parametrize("user", ["u", "someone"])
async def test_reply_context_carries_the_peer(user: str) -> None:
    """Reply handlers see the peer's user and connection, and the shared services."""
    hub = dispatcher()
    ctx = hub.reply_context(user, "c9", "whoami")
    assert (ctx.user, ctx.connection_id, ctx.action) == (user, "c9", "whoami")
    assert ctx.services is hub.services and ctx.services.runs is hub.runs


@pytest.mark.parametrize(
    ("raw", "action"),
    [('{"action":"fly","requestId":"r"}', "fly"), ('{"requestId":"r"}', None)],
    ids=["unknown-action", "no-action"],
)
async def test_a_default_reply_sees_a_reply_context_with_the_clients_action(
    raw: str, action: str | None
) -> None:
    """$default's handler gets a ReplyContext (no run) naming the client's action, or None."""
    seen: list[ReplyContext] = []
    app = AgentApp(name="t")

    @app.reply(DEFAULT_ROUTE, Go)
    async def fallback(request: Go, ctx: ReplyContext) -> dict[str, Any]:
        seen.append(ctx)
        return {"asked": ctx.action}

    peer = Peer()
    command = parse(raw, app)
    assert isinstance(command, Reply)
    await Dispatcher(app, Settings(model="scripted", store="none")).dispatch(command, peer)
    assert len(seen) == 1 and type(seen[0]) is ReplyContext and seen[0].action == action
    assert [a.body for a in peer.answers if isinstance(a, ReplyAnswer)] == [{"asked": action}]
