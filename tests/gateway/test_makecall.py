"""End to end over a real WebSocket: the gateway, a run, the CalledIt agent and its dialect."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from agentstream.apps.calledit.schemas import PredictionRecord
from tests.conftest import LiveServer, recv_json, recv_run
from tests.identities import as_user

PROMPT = "The S&P 500 will reach 6000 points by March 2025"


def makecall(prompt: str = PROMPT, **extra: object) -> str:
    return json.dumps(
        {"action": "makecall", "prompt": prompt, "timezone": "America/New_York", **extra}
    )


async def test_makecall_streams_tools_text_then_a_valid_record(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makecall yields tool frames, text frames, then complete with a valid record, seq 1..n."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(makecall())
        frames = await recv_run(ws)
    types = [f["type"] for f in frames]
    assert types[0] == "status" and frames[0]["status"] == "started"
    assert types[-1] == "complete"
    tools = [f for f in frames if f["type"] == "tool"]
    assert [t["name"] for t in tools] == ["current_time", "parse_relative_date"]
    assert tools[0]["input"] == {"timezone": "America/New_York"}
    assert types.index("text") < types.index("tool") < types.index("complete")
    assert len([t for t in types if t == "text"]) > 3
    assert "status" in types[types.index("tool") :]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert len({f["runId"] for f in frames}) == 1
    record = PredictionRecord.model_validate(frames[-1]["content"])
    assert record.verification_date == "2025-03-31"
    assert record.initial_status == "pending"


@pytest.mark.parametrize(
    ("message", "code", "mentions"),
    [
        ("this is not json", "invalid_json", "JSON"),
        ('["a", "list"]', "bad_request", "JSON object"),
        ('{"prompt": "no action"}', "unknown_action", "missing 'action'"),
        ('{"action": "fly", "prompt": "x"}', "unknown_action", "'fly'"),
        ('{"action": "makecall"}', "invalid_request", "prompt"),
        ('{"action": "makecall", "prompt": ""}', "invalid_request", "prompt"),
        (
            '{"action": "makecall", "prompt": "x", "timezone": "Mars/Base"}',
            "invalid_request",
            "timezone",
        ),
        ('{"action": "cancel"}', "bad_request", "runId"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_keeps_working(
    calledit_server: LiveServer, message: str, code: str, mentions: str
) -> None:
    """A bad frame gets an error frame naming the problem; the next makecall still completes."""
    async with websockets.connect(calledit_server.ws, max_size=None) as ws:
        await ws.send(message)
        error = await recv_json(ws)
        assert error["type"] == "error"
        assert error["code"] == code
        assert mentions in error["message"]
        await ws.send(makecall("It will snow in London on Christmas Day 2025"))
        frames = await recv_run(ws)
        assert frames[-1]["type"] == "complete"


async def test_a_200_kb_frame_closes_with_1009(calledit_server: LiveServer) -> None:
    """A 200 KB makecall closes the socket with 1009 (it was a message_too_large error frame)."""
    async with websockets.connect(calledit_server.ws, max_size=None) as ws:
        await ws.send(makecall("x" * 200_000))
        with pytest.raises(ConnectionClosed) as caught:
            await recv_json(ws)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1009


async def test_prompt_over_the_field_limit_names_the_field(calledit_server: LiveServer) -> None:
    """A prompt longer than the field allows (but under the frame limit) names 'prompt'."""
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(makecall("y" * 5000))
        error = await recv_json(ws)
    assert error["code"] == "invalid_request"
    assert "prompt" in error["message"] and "2000" in error["message"]


async def test_agentstream_dialect_by_query(calledit_server: LiveServer) -> None:
    """?dialect=agentstream gives canonical AG-UI-shaped frames with gap-free seq."""
    async with websockets.connect(calledit_server.ws + "?dialect=agentstream") as ws:
        await ws.send(makecall())
        frames = await recv_run(ws)
    assert frames[0]["type"] == "RUN_STARTED"
    assert frames[-1]["type"] == "RUN_FINISHED"
    assert {"TOOL_CALL_CHUNK", "TOOL_CALL_RESULT", "TEXT_MESSAGE_CHUNK"} <= {
        f["type"] for f in frames
    }
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))


async def test_unknown_dialect_is_refused_with_a_reason(calledit_server: LiveServer) -> None:
    """An unknown ?dialect closes the handshake with 1008 and says why."""
    async with websockets.connect(calledit_server.ws + "?dialect=klingon") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "klingon" in closed.value.rcvd.reason


async def test_plain_http_invoke_answers_the_final_frame(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST /api/invoke runs the action and answers with the run's last frame."""
    import httpx

    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    async with httpx.AsyncClient(base_url=calledit_server.http, timeout=30) as client:
        good = await client.post(
            "/api/invoke", content=makecall(), headers={"content-type": "application/json"}
        )
        bad = await client.post(
            "/api/invoke",
            content='{"action": "makecall"}',
            headers={"content-type": "application/json"},
        )
        junk = await client.post(
            "/api/invoke", content="nope", headers={"content-type": "application/json"}
        )
    assert good.status_code == 200 and good.json()["type"] == "complete"
    assert good.json()["content"]["verification_date"] == "2025-03-31"
    assert bad.status_code == 422 and "prompt" in bad.json()["message"]
    assert junk.status_code == 400 and junk.json()["code"] == "invalid_json"


@pytest.mark.parametrize("timezone", ["America", "x" * 300])
async def test_a_directory_or_overlong_timezone_is_an_invalid_request(
    calledit_server: LiveServer, timezone: str
) -> None:
    """timezone 'America' or 300 chars answers invalid_request, and the socket stays usable."""
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "tz")
    ) as ws:
        message = {"action": "makecall", "prompt": "x", "timezone": timezone, "requestId": "t"}
        await ws.send(json.dumps(message))
        answer = await recv_json(ws)
        await ws.send(json.dumps({"action": "ping", "requestId": "p"}))
        pong = await recv_json(ws)
    assert answer["type"] == "error" and answer["code"] == "invalid_request"
    assert answer["requestId"] == "t" and pong["type"] == "pong"


async def test_a_deeply_nested_request_id_is_refused_and_the_socket_keeps_working(
    calledit_server: LiveServer,
) -> None:
    """A requestId nested 300 levels deep gets bad_request; a normal run then streams whole."""
    deep = "[" * 300 + "]" * 300
    async with websockets.connect(
        calledit_server.ws, additional_headers=as_user(calledit_server, "deep")
    ) as ws:
        await ws.send('{"action":"makecall","prompt":"rain tomorrow","requestId":' + deep + "}")
        refused = await recv_json(ws)
        await ws.send(json.dumps({"action": "makecall", "prompt": "rain tomorrow"}))
        frames = await recv_run(ws)
    assert refused["type"] == "error" and refused["code"] == "bad_request"
    assert frames[-1]["type"] == "complete"
