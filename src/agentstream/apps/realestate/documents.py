"""The document set the real-estate agents answer from, and semantic search over it.

Documents are the Markdown files in ``docs/`` (``README.md`` aside). Each ``## `` section is one
passage; a file's name gives its category (``zoning-*.md`` is ``zoning``, ``building-codes-*.md``
is ``building_codes``). Passages are embedded once per process with
:func:`~agentstream.apps.realestate.embedding.default_embedder` and searched by cosine similarity.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentstream.apps.realestate.embedding import Embedder, default_embedder

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent / "docs"
_SECTION = re.compile(r"^## +(.+)$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_TITLE = re.compile(r"^# +(.+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Passage:
    """One section of one document."""

    doc: str
    title: str
    section: str
    text: str
    category: str

    @property
    def source(self) -> str:
        """``file § section``, for citations."""
        return f"{self.doc} § {self.section}"


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage and how well it matches the query (cosine similarity, -1..1)."""

    passage: Passage
    score: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready citation."""
        return {
            "doc": self.passage.doc,
            "section": self.passage.section,
            "category": self.passage.category,
            "score": round(self.score, 3),
        }


def category_of(filename: str) -> str:
    """``zoning-residential.md`` -> ``zoning``; ``building-codes-x.md`` -> ``building_codes``."""
    stem = Path(filename).stem
    if stem.startswith("building-codes"):
        return "building_codes"
    return stem.split("-", 1)[0].replace("-", "_")


def split_passages(filename: str, markdown: str) -> list[Passage]:
    """The ``## `` sections of one Markdown document."""
    title_match = _TITLE.search(markdown)
    title = title_match.group(1).strip() if title_match else Path(filename).stem
    heads = list(_SECTION.finditer(markdown))
    passages = []
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        end = following.start() if following is not None else len(markdown)
        text = " ".join(markdown[head.end() : end].split())
        if text:
            passages.append(
                Passage(filename, title, head.group(1).strip(), text, category_of(filename))
            )
    return passages


def load_passages(folder: Path = DOCS) -> list[Passage]:
    """Every passage of every document in ``folder``."""
    passages: list[Passage] = []
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() != "readme.md":
            passages.extend(split_passages(path.name, path.read_text(encoding="utf-8")))
    return passages


class DocumentIndex:
    """Passages and their embeddings."""

    def __init__(self, passages: Sequence[Passage], embedder: Embedder) -> None:
        """Embed every passage (its section title counts, so headings help matching)."""
        self.passages = list(passages)
        self.embedder = embedder
        self.vectors = embedder.embed([f"{p.section}. {p.text}" for p in self.passages])

    @property
    def categories(self) -> list[str]:
        """The categories present."""
        return sorted({p.category for p in self.passages})

    def search(self, query: str, category: str | None = None, limit: int = 3) -> list[Hit]:
        """The ``limit`` passages most similar to ``query``, best first."""
        if not query.strip() or not self.passages:
            return []
        scores = self.vectors @ self.embedder.embed([query])[0]
        order = sorted(range(len(self.passages)), key=lambda i: float(scores[i]), reverse=True)
        hits = [
            Hit(self.passages[i], float(scores[i]))
            for i in order
            if category is None or self.passages[i].category == category
        ]
        return hits[: max(1, limit)]

    def excerpts(self, query: str, hits: Sequence[Hit], sentences: int = 4) -> list[Hit]:
        """``hits`` cut to the ``sentences`` sentences closest to ``query`` among them all.

        Each passage keeps its chosen sentences in text order; a passage with none is dropped.
        A small model reads its prompt at a few dozen tokens a second: whole sections cost
        seconds before the first word of the answer, and most of their sentences are off topic.
        """
        if not hits:
            return []
        split = [
            (n, part) for n, hit in enumerate(hits) for part in split_sentences(hit.passage.text)
        ]
        scores = self.embedder.embed([part for _, part in split]) @ self.embedder.embed([query])[0]
        ranked = sorted(range(len(split)), key=lambda i: -float(scores[i]))
        chosen = sorted(ranked[:sentences])
        trimmed = []
        for n, hit in enumerate(hits):
            text = " ".join(split[i][1] for i in chosen if split[i][0] == n)
            if text:
                trimmed.append(Hit(dataclasses.replace(hit.passage, text=text), hit.score))
        return trimmed


def split_sentences(text: str) -> list[str]:
    """The sentences of a passage (a full stop before a capital or digit ends one)."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


_lock = threading.Lock()
_index: DocumentIndex | None = None


def default_index() -> DocumentIndex:
    """The shipped documents, indexed once per process (thread-safe; ~1 s the first time)."""
    global _index
    with _lock:
        if _index is None:
            _index = DocumentIndex(load_passages(), default_embedder())
            logger.info("documents indexed | passages=%d", len(_index.passages))
        return _index


def format_hits(hits: Sequence[Hit]) -> str:
    """Hits as numbered, cited passages (what tools return and prompts quote)."""
    if not hits:
        return "No matching passages."
    return "\n\n".join(
        f"[{n}] {hit.passage.source}\n{hit.passage.text}" for n, hit in enumerate(hits, 1)
    )
