"""The pure-Python WordPiece tokenizer and the int8 MiniLM embedder on onnxruntime."""

from __future__ import annotations

import numpy as np

from agentstream.apps.realestate.embedding import (
    MAX_WORD_CHARS,
    WordPiece,
    default_embedder,
    model_file,
)


def test_wordpiece_matches_bert_uncased_ids() -> None:
    """The tokenizer gives BertTokenizer's ids (checked against the model's tokenizer.json)."""
    wp = WordPiece()
    assert wp.encode("What are the zoning requirements for residential development?") == [
        101,
        2054,
        2024,
        1996,
        27462,
        5918,
        2005,
        5647,
        2458,
        1029,
        102,
    ]
    assert wp.encode("Café naïve résumé (ADU) setbacks: 10ft!") == [
        101,
        7668,
        15743,
        13746,
        1006,
        4748,
        2226,
        1007,
        2275,
        12221,
        1024,
        2184,
        6199,
        999,
        102,
    ]
    assert len(wp.encode("word " * 1000)) == 256


def test_words_split_punctuation_strip_accents_and_drop_control_characters() -> None:
    """Punctuation is its own word, accents go, control characters vanish, CJK splits per char."""
    wp = WordPiece()
    assert wp.words("Naïve\x00 ADU's\tset-back!") == [
        "naive",
        "adu",
        "'",
        "s",
        "set",
        "-",
        "back",
        "!",
    ]
    assert wp.words("\u4e2d\u6587ok") == ["\u4e2d", "\u6587", "ok"]


def test_a_word_too_long_or_not_splittable_is_one_unknown_token() -> None:
    """Past MAX_WORD_CHARS (not at it) a word is [UNK]; so is one no piece can cover."""
    wp = WordPiece()
    assert wp.pieces("a" * (MAX_WORD_CHARS + 1)) == [wp.unk]
    assert wp.pieces("a" * MAX_WORD_CHARS) != [wp.unk]
    assert wp.pieces("\u2603\u2603") == [wp.unk]


def test_a_long_word_is_split_into_continuation_pieces() -> None:
    """Greedy longest match: the first piece is plain, the rest are ``##`` continuations."""
    wp = WordPiece()
    ids = wp.pieces("setbacks")
    tokens = {index: token for token, index in wp.vocab.items()}
    assert [tokens[i] for i in ids] == ["set", "##backs"]


def test_encode_cuts_to_max_tokens_and_keeps_cls_and_sep() -> None:
    """A cut text is exactly max_tokens long and still ends with [SEP]."""
    wp = WordPiece()
    ids = wp.encode("one two three four five", max_tokens=4)
    assert ids == [wp.cls, wp.vocab["one"], wp.vocab["two"], wp.sep]
    assert wp.encode("", max_tokens=4) == [wp.cls, wp.sep]


def test_embeddings_are_unit_vectors_and_batching_does_not_change_them() -> None:
    """Rows are L2-normalised 384-d vectors; padding in a batch leaves each text's vector as is."""
    embedder = default_embedder()
    texts = ["rear setback for houses", "how many exits does a restaurant need in a fire"]
    together = embedder.embed(texts, batch=2)
    apart = np.concatenate([embedder.embed([text]) for text in texts])
    assert together.shape == (2, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, apart, atol=1e-4)
    assert embedder.embed([]).shape == (0, 384)


def test_similar_questions_score_higher_than_unrelated_ones() -> None:
    """The dot product ranks a paraphrase above an unrelated sentence."""
    a, b, c = default_embedder().embed(
        [
            "minimum rear yard setback",
            "how far back must the house sit from the rear lot line",
            "the chef seasons the soup",
        ]
    )
    assert float(a @ b) > float(a @ c)


def test_the_weights_pass_their_checksum_and_the_embedder_is_shared() -> None:
    """model_file() verifies the installed weights; default_embedder() is one per process."""
    assert model_file().suffix == ".onnx"
    assert default_embedder() is default_embedder()
