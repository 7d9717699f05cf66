"""A subword run is measured in words: the same buckets as the word run, BLEU on decoded text."""
from __future__ import annotations

import dataclasses
import pytest
import sacrebleu

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.data.pairs import Pair
from attn.data.tasks import load_task
from attn.training.experiment import prepare, run


def _corpus():
    """toy-fr as an imported corpus would be: word pairs, no gold alignment, a content hash."""
    task = load_task("toy-fr", n_train=200, n_valid=20, n_test=40, seed=3)
    plain = {name: tuple(Pair(p.src, p.tgt) for p in getattr(task, name)) for name in ("train", "valid", "test")}
    return dataclasses.replace(task, **plain, report={"sha256": "cd" * 32})


def _config(**subwords):
    return DataConfig(task="corpus", corpus="toy-fr.tsv", buckets=(0, 6, 10), **subwords)  # data given: not read


def _run(cfg_data, data, cache):
    cfg = RunConfig(data=DataConfig(), model=ModelConfig(variant="dot", emb=8, hidden=16),
                    train=TrainConfig(epochs=1, batch=32))
    prepared = prepare(cfg_data, data, subword_cache=cache)
    return run(cfg, prepared), prepared


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    data, cache = _corpus(), tmp_path_factory.mktemp("spm")
    return _run(_config(), data, cache), _run(_config(subwords="bpe", subword_vocab=120), data, cache)


def test_a_subword_run_has_the_buckets_of_the_word_run(both):
    (words, word_prep), (pieces, piece_prep) = both
    assert piece_prep.subwords is not None and piece_prep.data.train[0].src != word_prep.data.train[0].src
    longer = sum(len(p.src) for p in piece_prep.data.test) > sum(len(p.src) for p in word_prep.data.test)
    assert longer                                   # pieces outnumber words, yet ...
    assert piece_prep.edges == word_prep.edges      # ... the edges are cut in source words
    assert [(b.bucket, b.n) for b in pieces.buckets] == [(b.bucket, b.n) for b in words.buckets]
    assert [d.bucket for d in pieces.decodes] == [d.bucket for d in words.decodes]
    assert pieces.train_range == words.train_range
    assert sum(b.n for b in pieces.buckets) == len(word_prep.data.test)


def test_a_subword_run_scores_decoded_text_against_the_word_level_reference(both):
    (_, word_prep), (pieces, piece_prep) = both
    hyps = [piece_prep.subwords.decode("tgt", d.hyp) for d in pieces.decodes]
    refs = [word_prep.data.detok(p.tgt) for p in word_prep.data.test]
    assert [piece_prep.detok(d.ref) for d in pieces.decodes] == refs
    expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    assert pieces.overall["bleu"] == pytest.approx(expected)
    assert "|tok:13a|" in pieces.signatures["bleu_signature"]
