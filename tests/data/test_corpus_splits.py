"""Official validation and test files beside the training corpus: used as given, checked against it."""
from __future__ import annotations

import gzip

import pytest

from attn.data.corpus import CorpusError, CorpusOptions, load_corpus
from tests.data.test_corpus import tsv_text, write

TRAIN = [(f"the cat {i} sleeps .", f"le chat {i} dort .") for i in range(40)]
VALID = [(f"the dog {i} runs .", f"le chien {i} court .") for i in range(7)]
TEST = [("the cat sleeps and the dog runs far away from the house .", "le chat dort et le chien court loin ."),
        ("the cat runs .", "le chat court ."), ("the dog sleeps .", "le chien dort ."),
        ("the cat sleeps .", "le chat dort .")]  # training sentences all carry a number: none is a test one


def _files(tmp_path, attribution=False):
    return (write(tmp_path, "train.tsv", tsv_text(TRAIN, attribution)),
            write(tmp_path, "valid.tsv", tsv_text(VALID, attribution)),
            write(tmp_path, "test.tsv", tsv_text(TEST, attribution)))


def _sentences(split):
    return {" ".join(p.src) for p in split}


def test_official_valid_and_test_are_used_as_given_and_the_training_file_only_trains(tmp_path):
    train, valid, test = _files(tmp_path)
    data = load_corpus(train, CorpusOptions(max_len=6), valid=valid, test=test)
    assert (len(data.train), len(data.valid), len(data.test)) == (len(TRAIN), len(VALID), len(TEST))
    assert [" ".join(p.src) for p in data.test] == [s for s, _ in TEST]   # the file's order, none dropped by max_len
    assert not _sentences(data.test) & _sentences(data.train)
    assert data.report["official"]["test"]["files"] == ["test.tsv"]


def test_only_a_test_file_leaves_the_seeded_validation_split_of_the_training_file(tmp_path):
    train, _, test = _files(tmp_path)
    data = load_corpus(train, CorpusOptions(valid_frac=0.1, test_frac=0.1), test=test)
    assert len(data.test) == len(TEST) and len(data.valid) == 4 and len(data.train) == len(TRAIN) - 4
    assert not _sentences(data.test) & _sentences(data.train)


def test_official_splits_may_be_parallel_gzip_files_and_change_the_corpus_hash(tmp_path):
    src = write(tmp_path, "train.en", "".join(s + "\n" for s, _ in TRAIN))
    tgt = write(tmp_path, "train.fr", "".join(t + "\n" for _, t in TRAIN))
    test_en = write(tmp_path, "test.en.gz", gzip.compress("".join(s + "\n" for s, _ in TEST).encode()))
    test_fr = write(tmp_path, "test.fr.gz", gzip.compress("".join(t + "\n" for _, t in TEST).encode()))
    data = load_corpus(f"{src},{tgt}", test=f"{test_en},{test_fr}")
    assert len(data.test) == len(TEST)
    assert data.report["sha256"] != load_corpus(f"{src},{tgt}").report["sha256"]


def test_a_test_file_with_another_column_layout_is_refused_naming_it_and_the_layout(tmp_path):
    train, _, _ = _files(tmp_path, attribution=False)
    test = write(tmp_path, "test3.tsv", tsv_text(TEST, attribution=True))
    with pytest.raises(CorpusError) as err:
        load_corpus(train, test=test)
    assert "test3.tsv" in err.value.file
    assert "3 tab-separated columns" in str(err.value) and "2 tab-separated columns" in str(err.value)


def test_a_parallel_validation_pair_beside_a_tsv_training_file_is_refused(tmp_path):
    train, _, _ = _files(tmp_path)
    en = write(tmp_path, "v.en", "".join(s + "\n" for s, _ in VALID))
    fr = write(tmp_path, "v.fr", "".join(t + "\n" for _, t in VALID))
    with pytest.raises(CorpusError, match="the valid file is two line-aligned files.*training file's layout"):
        load_corpus(train, valid=f"{en},{fr}")


def test_a_test_file_sharing_no_vocabulary_with_training_is_refused(tmp_path):
    train, _, _ = _files(tmp_path)
    test = write(tmp_path, "swapped.tsv", tsv_text([("Guten Tag .", "Buenos días .")] * 3, attribution=False))
    with pytest.raises(CorpusError) as err:
        load_corpus(train, test=test)
    assert err.value.file == "swapped.tsv"
    assert "shares no source token" in err.value.reason and "same language pair" in err.value.reason


def test_load_data_reads_the_official_splits_a_config_names(tmp_path):
    from attn.config import DataConfig
    from attn.data.load import load_data

    train, valid, test = _files(tmp_path)
    plain = load_corpus(train)
    cfg = DataConfig(task="corpus", corpus=train, corpus_sha256=plain.report["sha256"], corpus_valid=valid,
                     corpus_test=test)
    data = load_data(cfg)                                         # the training file's hash still matches
    assert (len(data.valid), len(data.test)) == (len(VALID), len(TEST))
    assert data.report["train_sha256"] == plain.report["sha256"] != data.report["sha256"]
