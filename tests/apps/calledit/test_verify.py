"""Verification: the verify action over a real socket, and what code lets a verdict claim."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets
from strands import tool

from agentstream.agents.invoke import TokenLimit
from agentstream.apps.calledit.verify import Evidence, Verdict, Verifier, settle_verdict
from agentstream.gateway.context import RouteContext
from agentstream.gateway.settings import Settings
from agentstream.models.scripted import ScriptedModel
from agentstream.protocol.events import Event, TextMessageChunk, ToolCallChunk, ToolCallResult
from agentstream.runs.run import Run
from tests.conftest import LiveServer, recv_json, recv_run
from tests.identities import as_user

PROMPT = "The S&P 500 will reach 6000 points by March 2025"
RECORD = {
    "prediction_statement": "The S&P 500 will close at or above 6000 by 2025-03-31.",
    "verification_date": "2025-03-31",
    "verification_method": {
        "source": ["S&P Dow Jones Indices"],
        "criteria": ["An S&P 500 daily close at or above 6000 by 2025-03-31"],
        "steps": ["Open the index's daily history", "Find the highest close"],
    },
    "initial_status": "pending",
}


async def logged_call(ws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make a call on 2025-01-15 and log it; its call id."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    await ws.send(
        json.dumps({"action": "makecall", "prompt": PROMPT, "timezone": "America/New_York"})
    )
    run_id = (await recv_run(ws))[-1]["runId"]
    await ws.send(json.dumps({"action": "logcall", "runId": run_id}))
    answer = await recv_json(ws)
    return str(answer["call"]["call_id"])


async def verify(ws: Any, call_id: str, **extra: Any) -> list[dict[str, Any]]:
    """Run the verify action to its end; its frames."""
    await ws.send(
        json.dumps({"action": "verify", "callId": call_id, "requestId": uuid.uuid4().hex, **extra})
    )
    return await recv_run(ws)


async def test_verify_streams_then_saves_an_inconclusive_verdict(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once due, verify streams tools and text, then saves an inconclusive verdict, no evidence."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "gina")
    ) as ws:
        call_id = await logged_call(ws, monkeypatch)
        monkeypatch.setenv("AGENTSTREAM_NOW", "2025-04-02T09:00:00")
        frames = await verify(ws, call_id)
    types = [f["type"] for f in frames]
    assert types[0] == "status" and types[-1] == "complete"
    assert [f["name"] for f in frames if f["type"] == "tool"] == ["current_time"]
    assert "2025-04-02" in next(f["content"] for f in frames if f["type"] == "tool_result")
    assert "text" in types
    result = frames[-1]["content"]
    verdict = result["verdict"]
    assert result["call_id"] == call_id
    assert verdict["status"] == "inconclusive" and verdict["evidence"] == []
    assert "Reputable news coverage" in verdict["reasoning"]  # the record's source
    assert "Compare it with the criteria" in verdict["reasoning"]  # and its steps
    assert verdict["verified_at"].startswith("2025-04-02")
    async with httpx.AsyncClient(base_url=calledit_server.http) as client:
        call = (
            await client.get(f"/api/calls/{call_id}", headers=as_user(calledit_server, "gina"))
        ).json()["call"]
    assert call["status"] == "inconclusive" and call["verdict"] == verdict


async def test_a_call_not_yet_due_is_refused_unless_forced(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify before the verification date ends in a not_due error; force verifies it anyway."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "hal")
    ) as ws:
        call_id = await logged_call(ws, monkeypatch)
        early = await verify(ws, call_id)
        forced = await verify(ws, call_id, force=True)
    assert early[-1]["type"] == "error" and early[-1]["code"] == "not_due"
    assert "2025-03-31" in early[-1]["message"] and "callId" in early[-1]["message"]
    assert forced[-1]["type"] == "complete"


async def test_a_verified_call_is_not_verified_again_unless_forced(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call that has a verdict is not re-verified by accident (already_verified)."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "ivy")
    ) as ws:
        call_id = await logged_call(ws, monkeypatch)
        monkeypatch.setenv("AGENTSTREAM_NOW", "2025-04-02T09:00:00")
        await verify(ws, call_id)
        again = await verify(ws, call_id)
        forced = await verify(ws, call_id, force=True)
    assert again[-1]["code"] == "already_verified" and "inconclusive" in again[-1]["message"]
    assert forced[-1]["type"] == "complete"


async def test_an_unknown_or_foreign_call_is_not_found(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify of an unknown call, or of another user's, fails with not_found naming callId."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "jo")
    ) as ws:
        call_id = await logged_call(ws, monkeypatch)
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "kim")
    ) as ws:
        foreign = await verify(ws, call_id, force=True)
        unknown = await verify(ws, "no-such-call")
        await ws.send(json.dumps({"action": "verify", "callId": "has space"}))
        malformed = await recv_json(ws)
    for frames in (foreign, unknown):
        assert frames[-1]["code"] == "not_found" and "callId" in frames[-1]["message"]
    assert malformed["code"] == "invalid_request" and "callId" in malformed["message"]


def run_context() -> RouteContext:
    """The context of a verify run on the scripted model (the verifier runs inside a run)."""
    return RouteContext(
        connection_id="c1", user="u1", settings=Settings(model="scripted"), run=Run(owner="u1")
    )


def _lying_model() -> ScriptedModel:
    """A model that 'remembers' the outcome and cites its memory as evidence."""
    claim = {
        "status": "verified_true",
        "reasoning": "I recall it closed at 6100.",
        "evidence": [{"source": "memory", "finding": "6100 on 2025-02-19"}],
    }
    return ScriptedModel(
        [
            [{"text": "Checking the date. "}, {"tool": "current_time", "input": {}}],
            [{"text": "It closed at 6100, I recall."}, {"tool": "Verdict", "input": claim}],
        ]
    )


async def test_without_an_evidence_tool_a_claimed_verdict_becomes_inconclusive() -> None:
    """A model that claims verified_true with no outside-world tool is recorded inconclusive."""
    verifier = Verifier(run_context(), RECORD, _lying_model())
    events = [event async for event in verifier.events()]
    assert any(isinstance(e, ToolCallChunk) and e.tool_call_name == "current_time" for e in events)
    assert verifier.verdict is not None
    assert verifier.verdict.status == "inconclusive" and verifier.verdict.evidence == []
    assert "6100" not in verifier.verdict.reasoning
    assert "S&P Dow Jones Indices" in verifier.verdict.reasoning


@tool
def index_close(day: str) -> str:
    """The S&P 500 close on a day (a stand-in for a real market-data tool).

    Args:
        day: ISO date.
    """
    return json.dumps({"day": day, "close": 6032.38})


async def test_with_an_evidence_tool_a_cited_verdict_stands() -> None:
    """Given an evidence tool, a verdict that cites what the tool returned is kept."""
    cited = {
        "status": "verified_true",
        "reasoning": "The close on 2025-02-18 was 6032.38.",
        "evidence": [{"source": "index_close", "finding": "6032.38 on 2025-02-18"}],
    }
    model = ScriptedModel(
        [
            [{"tool": "index_close", "input": {"day": "2025-02-18"}}],
            [{"text": "The tool shows a close above 6000."}, {"tool": "Verdict", "input": cited}],
        ]
    )
    verifier = Verifier(run_context(), RECORD, model, evidence_tools=[index_close])
    events = [event async for event in verifier.events()]
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [r.tool_call_name for r in results] == ["index_close"]
    assert "6032.38" in results[0].content
    assert verifier.verdict == Verdict.model_validate(cited)


def test_a_verified_status_without_evidence_is_inconclusive_even_with_tools() -> None:
    """Even with evidence tools, verified_true or verified_false without evidence is refused."""
    for status in ("verified_true", "verified_false"):
        settled = settle_verdict(
            Verdict(status=status, reasoning="trust me"), RECORD, can_gather=True
        )
        assert settled.status == "inconclusive" and status in settled.reasoning
    honest = Verdict(
        status="verified_false",
        reasoning="It peaked at 5990.",
        evidence=[Evidence(source="index_close", finding="max close 5990")],
    )
    assert settle_verdict(honest, RECORD, can_gather=True) == honest


async def test_a_cancelled_verification_ends_cancelled_without_a_verdict() -> None:
    """A run cancelled mid-verification ends in CancelledError: no second turn, no verdict."""
    ctx = run_context()
    verifier = Verifier(ctx, RECORD, _lying_model())
    seen: list[Event] = []
    with pytest.raises(asyncio.CancelledError):
        async for event in verifier.events():
            seen.append(event)
            ctx.run.request_cancel("stop")
    texts = "".join(e.delta for e in seen if isinstance(e, TextMessageChunk))
    assert texts.startswith("Checking") and "6100" not in texts and verifier.verdict is None


async def test_a_verification_cut_at_the_token_limit_is_a_token_limit_error() -> None:
    """A verifier answer cut at the token limit fails with TokenLimit (code max_tokens)."""
    cut = ScriptedModel([[{"text": "The close was"}, {"stop": "max_tokens"}]])
    verifier = Verifier(run_context(), RECORD, cut)
    with pytest.raises(TokenLimit) as failed:
        async for _ in verifier.events():
            pass
    assert failed.value.code == "max_tokens" and verifier.verdict is None
