"""An uploaded corpus is called by the names its files had (attn.data.load.corpus_name), on every page."""
from __future__ import annotations

from attn.config import DataConfig
from attn.data.load import corpus_name, remember_corpus_names


def _stored(folder, *names) -> str:
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text("a\tb\n", encoding="utf-8")
    return ",".join(str(folder / name) for name in names)


def test_an_upload_kept_under_the_stores_names_is_called_by_the_names_it_was_uploaded_with(tmp_path):
    train = _stored(tmp_path / "corpora" / "aa", "source.txt", "target.txt")
    test = _stored(tmp_path / "corpora" / "bb", "corpus.tsv")
    assert corpus_name(DataConfig(task="corpus", corpus=train)) is None     # no names kept: the page says its hash
    remember_corpus_names(train, ["train.en", "train.fr"])
    remember_corpus_names(test, ["newstest 2014.tsv"])
    assert corpus_name(DataConfig(task="corpus", corpus=train, corpus_test=test)) == \
        "train.en+train.fr, test newstest 2014.tsv"


def test_a_corpus_given_by_path_is_called_by_its_file_names_and_a_task_by_nothing(tmp_path):
    spec = _stored(tmp_path / "mine", "eng-fra.txt")
    assert corpus_name(DataConfig(task="corpus", corpus=spec)) == "eng-fra.txt"
    assert corpus_name(DataConfig()) is None


def test_a_read_only_corpus_folder_loses_only_the_names(tmp_path):
    spec = str(tmp_path / "missing" / "corpus.tsv")                          # the folder cannot be written
    remember_corpus_names(spec, ["x.tsv"])
    assert corpus_name(DataConfig(task="corpus", corpus=spec)) is None
