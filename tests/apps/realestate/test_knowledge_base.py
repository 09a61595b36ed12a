"""Retrieving from a Bedrock Knowledge Base, against a local HTTP stub of bedrock-agent-runtime."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentstream.apps.realestate import orchestrator
from agentstream.apps.realestate.knowledge_base import (
    KnowledgeBaseError,
    knowledge_base_id,
    retrieve,
)
from agentstream.apps.realestate.specialists import route
from tests.aws.mgmt_stub import free_port

RESULTS = [
    {
        "content": {"text": "Setbacks in R-1 zones are 20 feet from the front lot line."},
        "location": {"type": "S3", "s3Location": {"uri": "s3://kb-docs/zoning/r1.md"}},
        "score": 0.82,
        "metadata": {"title": "R-1 zoning"},
    },
    {"content": {"text": ""}, "score": 0.1},
]


class KbStub:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.fail = False

    async def retrieve(self, request: Request) -> Response:
        self.seen.append((request.path_params["kb"], await request.json()))
        if self.fail:
            body = {"message": "not authorized"}
            return JSONResponse(body, 403, headers={"x-amzn-ErrorType": "AccessDeniedException"})
        return JSONResponse({"retrievalResults": RESULTS})


@pytest.fixture
def kb(monkeypatch: pytest.MonkeyPatch) -> Iterator[KbStub]:
    state = KbStub()
    app = Starlette(
        routes=[Route("/knowledgebases/{kb}/retrieve", state.retrieve, methods=["POST"])]
    )
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", f"http://127.0.0.1:{port}")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)


def test_retrieve_turns_chunks_into_cited_hits(kb: KbStub) -> None:
    """Each chunk with text is a hit: file name, title, text, score; empty chunks are skipped."""
    (hit,) = retrieve("KB12345678", "How far back must I build?", "zoning", 2)
    assert hit.passage.doc == "r1.md" and hit.passage.section == "R-1 zoning"
    assert hit.passage.category == "zoning" and hit.score == pytest.approx(0.82)
    kb_id, body = kb.seen[0]
    assert kb_id == "KB12345678"
    assert body["retrievalQuery"] == {"text": "How far back must I build?"}
    assert body["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] == 2


def test_a_failing_knowledge_base_raises_a_clear_error(kb: KbStub) -> None:
    """AccessDenied from the knowledge base: KnowledgeBaseError naming it and the code."""
    kb.fail = True
    with pytest.raises(KnowledgeBaseError, match="KB12345678.*AccessDeniedException") as caught:
        retrieve("KB12345678", "q", None, 2)
    assert caught.value.code == "knowledge_base_error"


async def test_the_orchestrator_searches_the_knowledge_base_when_configured(
    kb: KbStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KNOWLEDGE_BASE_ID set: the specialist's passages come from the knowledge base."""
    monkeypatch.setenv("KNOWLEDGE_BASE_ID", "KB90000000")
    assert knowledge_base_id() == "KB90000000"
    hits = await orchestrator._search(route("zoning"), "What are the setbacks?")
    assert [h.passage.doc for h in hits] == ["r1.md"] and kb.seen[0][0] == "KB90000000"


def test_without_the_variable_the_shipped_documents_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No KNOWLEDGE_BASE_ID: None (the orchestrator searches the shipped documents)."""
    monkeypatch.delenv("KNOWLEDGE_BASE_ID", raising=False)
    assert knowledge_base_id() is None
