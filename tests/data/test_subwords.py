"""SentencePiece subwords: round trip, caching, the training split only, and a size the corpus cannot hold."""
from __future__ import annotations

import pytest

from attn.data.files import CorpusError
from attn.data.pairs import Pair, ParallelData
from attn.data.subwords import subwords_for, to_pieces, train_model
from attn.data.text import tokenize_words

SENTENCES = [("The cat sleeps on the mat.", "Le chat dort sur le tapis."),
             ("The dog runs in the garden.", "Le chien court dans le jardin."),
             ("I see the man's house.", "Je vois la maison de l'homme."),
             ("We are eating apples today.", "Nous mangeons des pommes aujourd'hui.")] * 10


def _data(test=(("The cat runs.", "Le chat court."),)):
    def pairs(rows):
        return tuple(Pair(tuple(tokenize_words(s)), tuple(tokenize_words(t))) for s, t in rows)
    return ParallelData("toy", pairs(SENTENCES), pairs(SENTENCES[:2]), pairs(test),
                        report={"sha256": "ab" * 32})


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_encode_then_decode_gives_the_normalized_text_back(tmp_path, kind):
    data = _data()
    sub = subwords_for(data, kind, 30, tmp_path)
    for pair in data.train[:4] + data.test:
        for side in ("src", "tgt"):
            text = data.detok(getattr(pair, side))          # the word tokenizer's text, e.g. "l' homme"
            pieces = sub.encode(side, text)
            assert len(pieces) >= len(getattr(pair, side)) and sub.decode(side, pieces) == text


def test_models_are_cached_by_corpus_hash_and_settings_and_trained_on_training_only(tmp_path):
    data = _data()
    subwords_for(data, "bpe", 30, tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("src.bpe.30.") and files[1].startswith("tgt.bpe.30.")
    # another test split: the same models (nothing new trained), since only training sentences count
    subwords_for(_data(test=(("Zebras xylophone quietly.", "Zèbres."),)), "bpe", 30, tmp_path)
    subwords_for(data, "unigram", 30, tmp_path)
    assert len(list(tmp_path.iterdir())) == 4


def test_the_default_cache_is_the_corpus_folder_of_the_run_store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    subwords_for(_data(), "unigram", 30)
    assert len(list((tmp_path / "corpora" / ("ab" * 32) / "subwords").glob("*.model"))) == 2


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_a_vocabulary_larger_than_the_corpus_allows_names_the_largest_that_works(tmp_path, kind):
    with pytest.raises(CorpusError) as err:
        subwords_for(_data(), kind, 5000, tmp_path)
    largest = int(err.value.reason.split("largest size that works here is ")[1].split(" ")[0].replace(",", ""))
    assert err.value.file == "toy (source side)" and "5,000" in err.value.reason
    sub = subwords_for(_data(), kind, largest, tmp_path)   # the size it names works
    assert sub.src.get_piece_size() == largest


def test_pieces_keep_every_pair_and_report_the_settings(tmp_path):
    data = _data()
    pieces = to_pieces(data, subwords_for(data, "bpe", 30, tmp_path))
    assert [len(s) for s in (pieces.train, pieces.valid, pieces.test)] == [len(data.train), 2, 1]
    assert pieces.report["subwords"] == {"kind": "bpe", "vocab_size": 30}
    assert any(len(p.src) > len(w.src) for p, w in zip(pieces.train, data.train))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="bpe, unigram"):
        train_model(["a b"], "word", 10, "x")
    with pytest.raises(ValueError, match=">= 2"):
        train_model(["a b"], "bpe", 1, "x")


def test_a_vocabulary_smaller_than_the_characters_names_the_smallest_that_works(tmp_path):
    with pytest.raises(CorpusError) as err:
        subwords_for(_data(), "bpe", 5, tmp_path)
    smallest = int(err.value.reason.split("smallest size that works here is ")[1].replace(",", ""))
    assert err.value.file == "toy (source side)" and "distinct characters" in err.value.reason
    sources = [" ".join(p.src) for p in _data().train]
    assert len(train_model(sources, "bpe", smallest, "x")) > 0          # the size it names works
    with pytest.raises(CorpusError):
        train_model(sources, "bpe", smallest - 1, "x")
