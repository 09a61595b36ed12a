"""Answering from an Amazon Bedrock Knowledge Base instead of the shipped documents.

When ``KNOWLEDGE_BASE_ID`` is set (as the real-estate seed's Lambda does), the orchestrator asks
the knowledge base (``bedrock-agent-runtime`` ``Retrieve``) for the passages a specialist quotes;
otherwise it searches the documents shipped with the app. Each retrieved chunk becomes a
:class:`~agentstream.apps.realestate.documents.Hit`, so citations work the same way. A knowledge
base that fails ends the run with a clear ``knowledge_base_error`` (answering from other
documents than the ones configured would mislead).
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

from agentstream.apps.realestate.documents import Hit, Passage
from agentstream.errors import AppError

logger = logging.getLogger(__name__)


class KnowledgeBaseError(AppError):
    """The configured knowledge base could not be searched."""

    code: ClassVar[str] = "knowledge_base_error"


def knowledge_base_id() -> str | None:
    """The configured knowledge base, or None to use the shipped documents."""
    return os.environ.get("KNOWLEDGE_BASE_ID") or None


def _hit(result: dict[str, Any], category: str) -> Hit:
    location = result.get("location") or {}
    uri = (location.get("s3Location") or {}).get("uri") or location.get("type") or "knowledge base"
    doc = str(uri).rsplit("/", 1)[-1]
    text = str((result.get("content") or {}).get("text", ""))
    title = str((result.get("metadata") or {}).get("title", doc))
    passage = Passage(doc=doc, title=title, section=title, text=text, category=category)
    return Hit(passage, float(result.get("score", 0.0)))


def retrieve(
    kb_id: str, question: str, category: str | None, limit: int, client: Any = None
) -> list[Hit]:
    """The knowledge base's best ``limit`` chunks for ``question``, as hits.

    Raises:
        KnowledgeBaseError: the knowledge base refused or failed the request.
    """
    if client is None:
        import boto3  # type: ignore[import-untyped]

        client = boto3.session.Session().client("bedrock-agent-runtime")
    try:
        found = client.retrieve(
            knowledgeBaseId=kb_id,
            retrievalQuery={"text": question},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": limit}},
        )
    except Exception as exc:  # botocore's errors: one clear error for the run
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        logger.warning("knowledge base %s | retrieve failed: %s", kb_id, code)
        raise KnowledgeBaseError(f"knowledge base {kb_id} could not be searched ({code})") from exc
    results = found.get("retrievalResults", [])
    return [_hit(r, category or "general") for r in results if (r.get("content") or {}).get("text")]
