"""CalledIt's makecall run: its exact frame order (scripted model), tool plan and settled dates."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from typing import Any

import jsonpatch
import pytest
import websockets

from agentstream.apps.calledit.agent import settle_date, tool_plan
from agentstream.apps.calledit.schemas import MakeCall, PredictionRecord
from tests.apps.calledit.copying import copy_the_first_record
from tests.conftest import LiveServer, recv_run

NOW = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)


def record(**changes: Any) -> PredictionRecord:
    base: dict[str, Any] = {
        "prediction_statement": "The S&P 500 will close above 6000 on 2025-03-01.",
        "verification_date": "2025-03-01",
        "verification_method": {"source": ["S&P"], "criteria": ["close > 6000"], "steps": ["look"]},
    }
    return PredictionRecord.model_validate({**base, **changes})


async def test_scripted_makecall_frames_in_exact_order(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status, text, two tools, their results, reasoning, state then deltas, status, complete."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(
            json.dumps(
                {
                    "action": "makecall",
                    "timezone": "America/New_York",
                    "prompt": "The S&P 500 will reach 6000 points by March 2025",
                }
            )
        )
        frames = await recv_run(ws)
    groups = [(kind, len(list(run))) for kind, run in itertools.groupby(f["type"] for f in frames)]
    assert [kind for kind, _ in groups] == [
        "status",
        "text",
        "tool",
        "tool_result",
        "text",
        "state",
        "state_delta",
        "status",
        "complete",
    ]
    counts = dict(groups[2:4] + groups[5:6])
    assert counts == {"tool": 2, "tool_result": 2, "state": 1}
    assert groups[6][1] > 20  # the record grows word by word
    assert [f["status"] for f in frames if f["type"] == "status"] == ["started", "complete"]
    state: Any = None
    for frame in frames:
        if frame["type"] == "state":
            state = copy.deepcopy(frame["snapshot"])
        elif frame["type"] == "state_delta":
            state = jsonpatch.apply_patch(state, frame["delta"])
    assert state == frames[-1]["content"]


def test_tool_plan_has_parse_relative_date_only_when_the_call_names_a_date() -> None:
    """A dated call plans both date tools then the record; an undated one skips the parser."""
    dated = tool_plan(MakeCall(prompt="Rain in Paris next Friday", timezone="Europe/Paris"), NOW)
    assert dated == [
        {"name": "current_time", "input": {"timezone": "Europe/Paris"}},
        {
            "name": "parse_relative_date",
            "input": {"text": "Rain in Paris next Friday", "timezone": "Europe/Paris"},
        },
        {"name": "PredictionRecord"},
    ]
    undated = tool_plan(MakeCall(prompt="Cats will learn to talk"), NOW)
    assert [step["name"] for step in undated] == ["current_time", "PredictionRecord"]


def test_settle_date_uses_the_resolved_deadline_everywhere() -> None:
    """'by March 2025' is 2025-03-31, in the date field and in the statement's date."""
    settled = settle_date(record(), "The S&P 500 will reach 6000 by March 2025", NOW)
    assert settled.verification_date == "2025-03-31"
    assert settled.prediction_statement == "The S&P 500 will close above 6000 on 2025-03-31."


def test_settle_date_never_goes_before_today() -> None:
    """Without a date phrase a past model date becomes today; a future one stays."""
    past = settle_date(record(verification_date="2024-01-01"), "Cats will talk", NOW)
    assert past.verification_date == "2025-01-15"
    future = settle_date(record(verification_date="2025-01-16"), "Cats will talk", NOW)
    assert future.verification_date == "2025-01-16"


async def test_a_record_corrected_after_streaming_ends_with_a_settling_delta(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When code corrects the streamed record, a last delta makes the client's copy equal it."""
    monkeypatch.setenv("AGENTSTREAM_NOW", "2025-01-15T10:00:00")
    prompt = "The S&P 500 will reach 6000 points by March 2025, as I said on 2025-01-10"
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(json.dumps({"action": "makecall", "prompt": prompt}))
        frames = await recv_run(ws)
    final = frames[-1]["content"]
    assert "2025-01-10" not in final["prediction_statement"]
    last_delta = [f for f in frames if f["type"] == "state_delta"][-1]
    assert last_delta["delta"][0]["path"] == "/prediction_statement"
    state: Any = None
    for frame in frames:
        if frame["type"] == "state":
            state = copy.deepcopy(frame["snapshot"])
        elif frame["type"] == "state_delta":
            state = jsonpatch.apply_patch(state, frame["delta"])
    assert state == final


async def test_a_record_that_copies_an_example_is_asked_for_again(
    calledit_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first record citing AEMET for a Bitcoin call is redone; the result cites neither."""
    asked = copy_the_first_record(monkeypatch)
    async with websockets.connect(calledit_server.ws) as ws:
        await ws.send(json.dumps({"action": "makecall", "prompt": "Bitcoin above 150k in 2027"}))
        frames = await recv_run(ws)
    statuses = [f["status"] for f in frames if f["type"] == "status"]
    assert statuses == ["started", "retrying", "complete"]
    assert len(asked) == 2 and [f["type"] for f in frames].count("state") == 2
    assert "AEMET" not in json.dumps(frames[-1]["content"])
    assert frames[-1]["content"]["verification_method"]["source"][0] == asked[1]
