"""The call lifecycle over a real server: logcall, /api/calls, verdicts by hand, bad input."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from agentstream.apps import load_app
from agentstream.apps.calledit.records import calls_of
from agentstream.gateway.settings import Settings
from agentstream.stores import open_store
from tests.conftest import LiveServer, recv_json, recv_run, serve
from tests.identities import as_user
from tests.stores.conftest import AWS_ENV, running_moto, store_url

PROMPT = "The S&P 500 will reach 6000 points by March 2025"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call in these tests is made on 2025-01-15 in New York."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")


async def make_call(ws: Any, prompt: str = PROMPT) -> dict[str, Any]:
    """Run makecall to the end; its complete frame."""
    await ws.send(
        json.dumps({"action": "makecall", "prompt": prompt, "timezone": "America/New_York"})
    )
    frames = await recv_run(ws)
    assert frames[-1]["type"] == "complete", frames[-1]
    return frames[-1]


async def ask(ws: Any, **message: Any) -> dict[str, Any]:
    """Send a reply action; its answer (the next frame)."""
    await ws.send(json.dumps({"requestId": uuid.uuid4().hex, **message}))
    return await recv_json(ws)


@pytest.fixture
async def http(calledit_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the server."""
    async with httpx.AsyncClient(base_url=calledit_server.http, timeout=15) as client:
        yield client


async def test_logcall_saves_the_runs_record_and_lists_it(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """makecall → logcall saves the run's record as a pending call that GET /api/calls lists."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "alice")
    ) as ws:
        complete = await make_call(ws)
        answer = await ask(ws, action="logcall", runId=complete["runId"])
    assert answer["type"] == "logcall_result" and answer["requestId"]
    call = answer["call"]
    assert answer["created"] is True
    assert call["record"] == complete["content"] and call["run_id"] == complete["runId"]
    assert call["status"] == "pending" and call["verdict"] is None
    assert call["record"]["verification_date"] == "2025-03-31"
    listed = (await http.get("/api/calls", headers=as_user(calledit_server, "alice"))).json()
    assert listed == {"calls": [call], "next": None}
    one = await http.get(f"/api/calls/{call['call_id']}", headers=as_user(calledit_server, "alice"))
    assert one.status_code == 200 and one.json() == {"call": call}


async def test_calls_are_private_to_their_user(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Another user neither lists, fetches, logs nor verdicts someone else's call or run."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "alice")
    ) as ws:
        complete = await make_call(ws)
        call = (await ask(ws, action="logcall", runId=complete["runId"]))["call"]
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "mallory")
    ) as ws:
        stolen = await ask(ws, action="logcall", runId=complete["runId"])
    assert stolen["type"] == "error" and stolen["code"] == "not_found"
    assert "runId" in stolen["message"]
    mallory = as_user(calledit_server, "mallory")
    assert (await http.get("/api/calls", headers=mallory)).json() == {"calls": [], "next": None}
    assert (await http.get(f"/api/calls/{call['call_id']}", headers=mallory)).status_code == 404
    verdict = {"status": "verified_false", "reasoning": "no"}
    forged = await http.post(f"/api/calls/{call['call_id']}/verdict", headers=mallory, json=verdict)
    assert forged.status_code == 404
    mine = await http.get(
        f"/api/calls/{call['call_id']}", headers=as_user(calledit_server, "alice")
    )
    assert mine.json()["call"]["status"] == "pending"


async def test_logging_a_run_twice_returns_the_same_call(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The same run logged again (WS or HTTP) returns the first call; no duplicate is stored."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "bob")
    ) as ws:
        run_id = (await make_call(ws))["runId"]
        first = await ask(ws, action="logcall", runId=run_id)
        again = await ask(ws, action="logcall", runId=run_id)
    over_http = await http.post(
        "/api/calls", headers=as_user(calledit_server, "bob"), json={"runId": run_id}
    )
    assert (first["created"], again["created"]) == (True, False)
    assert over_http.status_code == 200 and over_http.json()["created"] is False
    assert again["call"] == first["call"] == over_http.json()["call"]
    listed = (await http.get("/api/calls", headers=as_user(calledit_server, "bob"))).json()["calls"]
    assert [c["call_id"] for c in listed] == [first["call"]["call_id"]]


async def test_post_calls_saves_a_validated_edit(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """POST /api/calls with an edited record answers 201 and stores the edit, not the original."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "carol")
    ) as ws:
        complete = await make_call(ws)
    edited = copy.deepcopy(complete["content"])
    edited["prediction_statement"] = "  The S&P 500 closes at or above 6000 by 2025-03-31.  "
    edited["verification_date"] = "2025-04-01"
    answer = await http.post(
        "/api/calls",
        headers=as_user(calledit_server, "carol"),
        json={"runId": complete["runId"], "record": edited},
    )
    assert answer.status_code == 201
    record = answer.json()["call"]["record"]
    assert record["prediction_statement"] == "The S&P 500 closes at or above 6000 by 2025-03-31."
    assert record["verification_date"] == "2025-04-01"


def _edit(path: str, value: Any) -> Any:
    """A function that sets ``path`` (dotted) in a record to ``value``."""

    def apply(record: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = record
        for key in parents:
            target = target[key]
        target[leaf] = value

    return apply


@pytest.mark.parametrize(
    ("edit", "field", "why"),
    [
        (
            _edit("verification_method.source", []),
            "record.verification_method.source",
            "must not be empty",
        ),
        (_edit("confidence", 0.9), "record.confidence", "unknown field"),
        (_edit("verification_date", "2020-01-01"), "record.verification_date", "in the past"),
        (_edit("verification_date", "2025-02-30"), "record.verification_date", "not a real date"),
        (_edit("prediction_statement", "x" * 600), "record.prediction_statement", "500"),
        (
            _edit("verification_method.steps", ["step"] * 6),
            "record.verification_method.steps",
            "at most 5",
        ),
        (_edit("initial_status", "verified_true"), "record.initial_status", "pending"),
        (_edit("verification_method.steps", ["s" * 1900] * 20), "record", "32768 limit"),
    ],
)
async def test_a_bad_edit_is_refused_naming_the_field(
    calledit_server: LiveServer, http: httpx.AsyncClient, edit: Any, field: str, why: str
) -> None:
    """A malformed or oversized edit gets invalid_record naming the field; nothing is saved."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "dave")
    ) as ws:
        complete = await make_call(ws)
        record = copy.deepcopy(complete["content"])
        edit(record)
        error = await ask(ws, action="logcall", runId=complete["runId"], record=record)
        assert error["type"] == "error" and error["code"] == "invalid_record"
        assert error["message"].startswith(f"{field}:") and why in error["message"]
        ok = await ask(ws, action="logcall", runId=complete["runId"])
        assert ok["type"] == "logcall_result"
    listed = (await http.get("/api/calls", headers=as_user(calledit_server, "dave"))).json()[
        "calls"
    ]
    assert [c["record"] for c in listed] == [complete["content"]]


@pytest.mark.parametrize(
    ("message", "code", "mentions"),
    [
        ({"action": "logcall"}, "invalid_request", "runId"),
        ({"action": "logcall", "runId": ""}, "invalid_request", "runId"),
        ({"action": "logcall", "runId": "run_nope"}, "not_found", "runId"),
        ({"action": "logcall", "runId": "run_nope", "record": "text"}, "invalid_request", "record"),
    ],
)
async def test_a_bad_logcall_names_the_field(
    calledit_server: LiveServer, message: dict[str, Any], code: str, mentions: str
) -> None:
    """A logcall without a usable runId (or with a non-object record) names the field."""
    async with websockets.connect(calledit_server.ws) as ws:
        error = await ask(ws, **message)
    assert error["type"] == "error" and error["code"] == code
    assert mentions in error["message"]


async def test_a_running_run_cannot_be_logged_yet(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """logcall on a run still streaming says so (run_not_finished); once done it logs."""
    monkeypatch.setenv("AGENTSTREAM_SCRIPTED_DELAY", "0.02")
    # The live path: this process holds the run (services.runs is always the gateway's registry).
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(json.dumps({"action": "makecall", "prompt": PROMPT}))
        started = await recv_json(ws)
        await ws.send(json.dumps({"action": "logcall", "runId": started["runId"]}))
        frames = [await recv_json(ws)]
        while not (frames[-1]["type"] == "error" and "runId" not in frames[-1]):
            frames.append(await recv_json(ws))
        assert frames[-1]["code"] == "run_not_finished"
        assert "still running" in frames[-1]["message"]
        await recv_run(ws)
        done = await ask(ws, action="logcall", runId=started["runId"])
    assert done["type"] == "logcall_result"


async def test_a_cancelled_run_has_no_record_to_log() -> None:
    """logcall on a cancelled run is refused: only a finished run's record can be logged."""
    # Half a second per delta: the cancel always lands mid-run, however busy the machine is (an
    # undelayed scripted call could finish before the cancel arrived).
    with serve(load_app("calledit"), Settings(model="scripted:0.5")) as slow:
        async with websockets.connect(slow.ws) as ws:
            await ws.send(json.dumps({"action": "makecall", "prompt": PROMPT}))
            started = await recv_json(ws)
            await ws.send(json.dumps({"action": "cancel", "runId": started["runId"]}))
            frames = await recv_run(ws)
            assert frames[-1]["code"] == "cancelled"
            error = await ask(ws, action="logcall", runId=started["runId"])
    assert error["code"] == "run_not_finished" and "cancelled" in error["message"]


async def test_calls_list_newest_first_in_pages(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """GET /api/calls pages newest first with an opaque cursor; bad limit or cursor names it."""
    prompts = [
        "It will snow in Paris by next week",
        "Bitcoin will pass $150k by June 2025",
        "The S&P 500 will reach 6000 points by March 2025",
    ]
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "erin")
    ) as ws:
        for prompt in prompts:
            run_id = (await make_call(ws, prompt))["runId"]
            await ask(ws, action="logcall", runId=run_id)
    user = as_user(calledit_server, "erin")
    first = (await http.get("/api/calls", params={"limit": "2"}, headers=user)).json()
    second = (
        await http.get("/api/calls", params={"limit": "2", "cursor": first["next"]}, headers=user)
    ).json()
    statements = [c["record"]["prediction_statement"] for c in first["calls"] + second["calls"]]
    assert statements == [p + "." for p in reversed(prompts)]
    assert first["next"] and second["next"] is None
    for params, field in [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
    ]:
        bad = await http.get("/api/calls", params=params, headers=user)
        assert bad.status_code == 422 and bad.json()["message"].startswith(field)


async def test_a_verdict_can_be_recorded_by_hand(
    calledit_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """POST /api/calls/{id}/verdict stores {status, reasoning, evidence} and moves the status."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "frank")
    ) as ws:
        run_id = (await make_call(ws))["runId"]
        call_id = (await ask(ws, action="logcall", runId=run_id))["call"]["call_id"]
    user = as_user(calledit_server, "frank")
    verdict = {
        "status": "verified_true",
        "reasoning": "It closed at 6,032 on 2025-02-18.",
        "evidence": [{"source": "S&P Dow Jones Indices", "finding": "Close 6032.38"}],
    }
    answer = await http.post(f"/api/calls/{call_id}/verdict", headers=user, json=verdict)
    assert answer.status_code == 200
    call = (await http.get(f"/api/calls/{call_id}", headers=user)).json()["call"]
    assert call["status"] == "verified_true"
    assert {k: call["verdict"][k] for k in verdict} == verdict
    assert call["verdict"]["verified_at"]
    for body, field in [
        ({"status": "pending"}, "status"),
        ({"status": "inconclusive", "evidence": ["just text"]}, "evidence.0"),
        ({"status": "inconclusive", "by": "me"}, "by"),
    ]:
        bad = await http.post(f"/api/calls/{call_id}/verdict", headers=user, json=body)
        assert bad.status_code == 422 and field in bad.json()["message"]
    missing = await http.post("/api/calls/nope/verdict", headers=user, json=verdict)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_bad_http_bodies_get_clear_errors(http: httpx.AsyncClient) -> None:
    """POST /api/calls refuses junk JSON (400), a missing runId (422) and a huge body (413)."""
    junk = await http.post(
        "/api/calls", content=b"{nope", headers={"content-type": "application/json"}
    )
    missing = await http.post("/api/calls", json={"record": {}})
    huge = await http.post("/api/calls", json={"runId": "r", "record": {"x": "y" * 100_000}})
    assert (junk.status_code, junk.json()["code"]) == (400, "invalid_json")
    assert missing.status_code == 422 and "runId" in missing.json()["message"]
    assert (huge.status_code, huge.json()["code"]) == (413, "too_large")


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A moto DynamoDB server for this test alone, which the test may kill."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with running_moto() as server:
        yield server


async def test_store_down_gives_an_error_frame_not_a_hang(
    calledit_server: LiveServer,
    http: httpx.AsyncClient,
    moto: tuple[subprocess.Popen[bytes], str],
) -> None:
    """With DynamoDB unreachable, logcall gets a store_unavailable error frame within seconds."""
    proc, endpoint = moto
    url = f"dynamodb://?endpoint={endpoint}&prefix=down_&region=us-east-1&create=1"
    store = open_store(url, connect_timeout=1, max_attempts=1)
    await store.open()
    proc.kill()
    proc.wait()
    services = calledit_server.asgi.state.gateway.services
    kept, services.store = services.store, store
    try:
        async with websockets.connect(calledit_server.ws) as ws:
            run_id = (await make_call(ws))["runId"]
            started = time.monotonic()
            error = await ask(ws, action="logcall", runId=run_id)
            elapsed = time.monotonic() - started
        listed = await http.get("/api/calls")
    finally:
        services.store = kept
        await store.close()
    assert error["type"] == "error" and error["code"] == "store_unavailable"
    assert "unavailable" in error["message"]
    assert elapsed < 10
    assert listed.status_code == 503 and listed.json()["code"] == "store_unavailable"


async def test_a_server_without_a_store_says_it_keeps_no_calls() -> None:
    """With --store none, logcall and GET /api/calls answer no_store (404 over HTTP)."""
    with serve(load_app("calledit"), Settings(model="scripted", store="none")) as live:
        async with websockets.connect(live.ws) as ws:
            run_id = (await make_call(ws))["runId"]
            error = await ask(ws, action="logcall", runId=run_id)
        async with httpx.AsyncClient(base_url=live.http) as client:
            listed = await client.get("/api/calls")
    assert error["code"] == "no_store"
    assert listed.status_code == 404 and listed.json()["code"] == "no_store"


# --- My Calls paging on the real cursors ---------------------------------------------------------

PAGED_CALLS = 23
PAGE = 5


async def _seed_calls(url: str, user: str, count: int) -> list[str]:
    """Save ``count`` calls for ``user`` through the store at ``url``; their ids, oldest first."""
    record = {
        "prediction_statement": "It will rain in Paris on 2025-12-31.",
        "verification_date": "2025-12-31",
        "verification_method": {"source": ["s"], "criteria": ["c"], "steps": ["t"]},
    }
    async with open_store(url) as store:
        calls = calls_of(store)
        ids = [(await calls.save_call(user, record, run_id=f"r{i}")).call_id for i in range(count)]
        await calls.save_call("someone-else", record, run_id="r0")
    return ids


@pytest.fixture(params=["sqlite", "dynamodb"])
def paged_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of each backend, SQLite on a file, DynamoDB on a moto server."""
    return store_url(request.param, request, tmp_path)


async def test_my_calls_pages_through_the_real_cursor_without_gaps_or_repeats(
    paged_store_url: str,
) -> None:
    """GET /api/calls pages 23 calls by 5 on SQLite and DynamoDB: newest first, no gap or repeat."""
    ids = await _seed_calls(paged_store_url, "paula", PAGED_CALLS)
    settings = Settings(model="scripted", store=paged_store_url)
    with serve(load_app("calledit"), settings) as live:
        paula = as_user(live, "paula")
        async with httpx.AsyncClient(base_url=live.http, timeout=15) as client:
            seen, pages, cursor = [], 0, None
            while True:
                params = {"limit": str(PAGE)} | ({"cursor": cursor} if cursor else {})
                answer = await client.get("/api/calls", params=params, headers=paula)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                seen += [c["call_id"] for c in body["calls"]]
                pages += 1
                cursor = body["next"]
                if cursor is None:
                    break
    assert seen == ids[::-1]  # newest first, every call once, no gap
    assert pages == -(-PAGED_CALLS // PAGE)  # no empty page after an exact fit


async def test_my_calls_refuses_a_garbled_or_foreign_cursor(paged_store_url: str) -> None:
    """A garbled cursor, or one not made by the store (an offset, a wrong shape), is a clear 422."""
    await _seed_calls(paged_store_url, "paula", 3)
    foreign = [
        "%%%",  # not base64
        "20",  # the in-memory stand-in's offset
        base64.urlsafe_b64encode(b'{"page": 2}').decode(),
        base64.urlsafe_b64encode(b'[5, ""]').decode(),  # right shape, no call id
        base64.urlsafe_b64encode(b'[-1, "abc"]').decode(),  # before time began
        base64.urlsafe_b64encode(b'[18446744073709551615, "abc"]').decode(),  # past any stamp
    ]
    with serve(load_app("calledit"), Settings(model="scripted", store=paged_store_url)) as live:
        async with httpx.AsyncClient(base_url=live.http, timeout=15) as client:
            for cursor in foreign:
                answer = await client.get(
                    "/api/calls", params={"cursor": cursor}, headers=as_user(live, "paula")
                )
                assert answer.status_code == 422, (cursor, answer.text)
                assert answer.json()["code"] == "invalid_request"
                assert answer.json()["message"] == "cursor: is malformed", cursor
