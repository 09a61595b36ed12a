"""POST /api/runs/{id}/cancel: cancel over HTTP for SSE readers, owner only."""

from __future__ import annotations

import asyncio

import httpx

from agentstream.gateway.settings import Settings
from tests.conftest import serve
from tests.identities import as_user


async def test_cancel_over_http_stops_a_run_and_says_so_twice() -> None:
    """202 cancelling, the SSE stream ends cancelled, then 200 with state cancelled."""
    from agentstream.apps import load_app

    with serve(load_app("calledit"), Settings(model="scripted:0.05", store="none")) as live:
        async with httpx.AsyncClient(base_url=live.http, timeout=30) as client:
            ann = as_user(live, "ann")
            started = await client.post(
                "/api/runs", json={"action": "makecall", "prompt": "It rains"}, headers=ann
            )
            run_id = started.json()["runId"]
            await asyncio.sleep(0.2)
            other = await client.post(
                f"/api/runs/{run_id}/cancel", json={}, headers=as_user(live, "bo")
            )
            first = await client.post(f"/api/runs/{run_id}/cancel", json={}, headers=ann)
            stream = await client.get(started.json()["events"], headers=ann)
            again = await client.post(f"/api/runs/{run_id}/cancel", json={}, headers=ann)
    assert other.status_code == 404 and other.json()["state"] == "unknown"
    assert first.status_code == 202 and first.json()["state"] == "cancelling"
    assert '"code":"cancelled"' not in stream.text  # ag-ui: a cancel is not an error
    assert '"outcome":{"type":"cancelled"}' in stream.text
    assert again.status_code == 200 and again.json()["state"] == "cancelled"
