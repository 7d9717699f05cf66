"""Attention maps over subword pieces merged per word: rows of a word averaged, columns of a word summed."""
from __future__ import annotations

import numpy as np
import pytest

from attn.data.pairs import Pair, ParallelData
from attn.data.subwords import MERGED_NOTE, merge_per_word, merged_words, subwords_for, word_spans
from attn.data.text import tokenize_words


def test_pieces_are_grouped_into_the_words_they_spell():
    pieces = ["▁the", "▁ch", "at", "s", "▁sleep", "</s>"]
    assert word_spans(pieces) == [(0, 1), (1, 4), (4, 5), (5, 6)]
    assert merged_words(pieces) == ("the", "chats", "sleep", "</s>")


def test_rows_of_a_word_are_averaged_and_columns_of_a_word_summed():
    weights = np.array([[0.5, 0.25, 0.25],     # "▁the" over "▁le", "▁ch", "at"
                        [0.1, 0.1, 0.8],       # "▁c"
                        [0.2, 0.3, 0.5]])      # "at"
    merged, tgt_words, src_words = merge_per_word(weights, ["▁le", "▁ch", "at"], ["▁the", "▁c", "at"])
    assert (tgt_words, src_words) == (("the", "cat"), ("le", "chat"))
    np.testing.assert_allclose(merged, [[0.5, 0.5], [0.15, 0.85]], rtol=1e-6)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, rtol=1e-6)   # still a distribution per row
    assert "merged per word" in MERGED_NOTE


def test_a_map_of_real_sentencepiece_pieces_merges_to_the_words_of_the_sentence(tmp_path):
    rows = [("the cat sleeps on the mat", "le chat dort sur le tapis"),
            ("the dog runs in the garden", "le chien court dans le jardin")] * 20
    pairs = tuple(Pair(tuple(tokenize_words(s)), tuple(tokenize_words(t))) for s, t in rows)
    sub = subwords_for(ParallelData("toy", pairs, pairs[:2], pairs[:2]), "bpe", 30, tmp_path)
    src, tgt = sub.encode("src", "the cat runs"), sub.encode("tgt", "le chat court")
    assert len(src) > 3 or len(tgt) > 3                             # some word really is in pieces
    weights = np.random.default_rng(0).dirichlet(np.ones(len(src)), size=len(tgt))   # (T, S), rows sum to 1
    merged, tgt_words, src_words = merge_per_word(weights, src, tgt)
    assert (tgt_words, src_words) == (("le", "chat", "court"), ("the", "cat", "runs"))
    assert merged.shape == (3, 3)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, rtol=1e-5)


def test_a_map_that_does_not_match_its_pieces_is_refused_with_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 2\).*3 target and 2 source"):
        merge_per_word(np.ones((2, 2)), ["▁a", "b"], ["▁x", "▁y", "z"])
