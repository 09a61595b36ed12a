"""Ownership: another identity's run or call looks exactly like one that does not exist.

Alice makes a run and logs it as a call. Mallory, with her own proven identity, tries every door
(WebSocket resume, cancel, logcall, verify; HTTP reads, logging and verdicts; the SSE stream)
with Alice's ids and with random ids, and must get the same answers (ids masked).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest
import websockets

from tests.apps.calledit.test_calls import ask, make_call
from tests.conftest import LiveServer, recv_json, recv_run
from tests.identities import as_user


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls are made on 2025-01-15 in New York."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")


def masked(answer: Any, *ids: str) -> str:
    """``answer`` as text with the probed ids and request ids replaced, to compare shapes."""
    text = json.dumps(answer, sort_keys=True)
    for value in ids:
        text = text.replace(value, "<id>")
    return re.sub(r"run_[0-9a-f]{32}", "<new run>", text)  # verify starts a run of its own


async def socket_answers(live: LiveServer, run_id: str, call_id: str) -> list[str]:
    """Mallory's answers to resume, cancel, logcall and verify of ``run_id`` / ``call_id``."""
    answers = []
    async with websockets.connect(live.ws, additional_headers=as_user(live, "mallory")) as ws:
        for message in (
            {"action": "resume", "runId": run_id, "lastSeq": 0},
            {"action": "cancel", "runId": run_id},
            {"action": "logcall", "runId": run_id},
            {"action": "verify", "callId": call_id, "force": True},
        ):
            await ws.send(json.dumps({**message, "requestId": "r"}))
            if message["action"] == "verify":
                answers.append(masked(await recv_run(ws), run_id, call_id))
            else:
                answers.append(masked(await recv_json(ws), run_id, call_id))
    return answers


async def http_answers(live: LiveServer, run_id: str, call_id: str) -> list[str]:
    """Mallory's HTTP answers (status and body) for the same ids."""
    mallory = as_user(live, "mallory")
    verdict = {"status": "verified_false", "reasoning": "no", "evidence": []}
    async with httpx.AsyncClient(base_url=live.http, headers=mallory, timeout=15) as client:
        answers = [
            await client.get(f"/api/calls/{call_id}"),
            await client.post(f"/api/calls/{call_id}/verdict", json=verdict),
            await client.post("/api/calls", json={"runId": run_id}),
            await client.get(f"/api/runs/{run_id}/events"),
        ]
    return [f"{a.status_code} {masked(a.json(), run_id, call_id)}" for a in answers]


async def test_a_foreign_run_or_call_answers_like_a_random_id(calledit_server: LiveServer) -> None:
    """Over WebSocket, HTTP and SSE, Alice's ids get Mallory the answers random ids get."""
    live = calledit_server
    async with websockets.connect(live.ws, additional_headers=as_user(live, "alice")) as ws:
        run_id = (await make_call(ws))["runId"]
        call_id = (await ask(ws, action="logcall", runId=run_id))["call"]["call_id"]
    random_run, random_call = f"run_{uuid.uuid4().hex}", uuid.uuid4().hex
    foreign = await socket_answers(live, run_id, call_id)
    unknown = await socket_answers(live, random_run, random_call)
    assert foreign == unknown
    assert all('"state": "unknown"' in a or '"not_found"' in a for a in foreign)
    foreign_http = await http_answers(live, run_id, call_id)
    unknown_http = await http_answers(live, random_run, random_call)
    assert foreign_http == unknown_http
    assert [a.split()[0] for a in foreign_http] == ["404"] * 4
    async with httpx.AsyncClient(base_url=live.http, headers=as_user(live, "alice")) as client:
        mine = await client.get(f"/api/calls/{call_id}")
    assert mine.status_code == 200 and mine.json()["call"]["status"] == "pending"
