"""POST /invoke over real HTTP: the orchestrator's final result for plain HTTP callers."""

from __future__ import annotations

import httpx

from tests.apps.realestate.conftest import ZONING_Q
from tests.conftest import LiveServer


async def test_plain_http_post_answers_the_final_result(realestate_server: LiveServer) -> None:
    """POST /invoke answers the result data; /api/invoke the result frame; errors are 4xx."""
    body = {"question": ZONING_Q, "query_type": "zoning"}
    async with httpx.AsyncClient(base_url=realestate_server.http, timeout=30) as client:
        plain = await client.post("/invoke", json=body)
        framed = await client.post("/api/invoke", json={"action": "invoke", **body})
        missing = await client.post("/invoke", json={"query_type": "zoning"})
        junk = await client.post(
            "/invoke", content=b"{", headers={"content-type": "application/json"}
        )
    assert plain.status_code == 200
    assert plain.json()["agent"] == "zoning" and plain.json()["success"] is True
    assert framed.status_code == 200 and framed.json()["type"] == "result"
    assert framed.json()["data"]["content"] == plain.json()["content"]
    assert missing.status_code == 422 and "question" in missing.json()["error"]
    assert missing.json()["success"] is False
    assert junk.status_code == 400 and junk.json()["code"] == "invalid_json"
