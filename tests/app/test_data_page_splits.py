"""The Data page's official validation/test uploads and subword settings, in AppTest; what it chooses is
the data_config the Train page queues."""
from __future__ import annotations

from attn.runs.store import FINISHED, RunStore
from tests.app.apptest import assert_clean, open_page, wait_until
from tests.app.conftest import TRAINING_TIMEOUT
from tests.cli.test_corpus_cli import english_french_pairs


def _tsv(pairs, columns: int = 2) -> bytes:
    tail = "\tCC-BY" if columns == 3 else ""
    return "".join(f"{s}\t{t}{tail}\n" for s, t in pairs).encode()


TRAIN, TEST = _tsv(english_french_pairs(200, 0, longest=3)), _tsv(english_french_pairs(25, 2, longest=5))


def _corpus_page(app):
    at = open_page(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.number_input(key="data.corpus_max_len").set_value(0)
    at.file_uploader(key="data.files_upload").set_value(("eng-fra.tsv", TRAIN, "text/plain")).run()
    assert_clean(at)
    return at


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_an_official_test_upload_replaces_the_random_test_split_and_train_sees_it(app):
    at = _corpus_page(app)
    at.file_uploader(key="data.test_upload").set_value(("test.tsv", TEST, "text/plain")).run()
    assert_clean(at)
    cfg = at.session_state["data_config"]
    assert cfg.corpus_test and cfg.corpus_valid is None
    assert _metric(at, "test pairs") == "25" and _metric(at, "training pairs") == "180"  # 200 less 10 % valid
    assert any("eng-fra.tsv, test test.tsv" in c.value for c in at.caption)


def test_a_test_upload_in_another_column_layout_is_an_error_naming_it(app):
    at = _corpus_page(app)
    at.file_uploader(key="data.test_upload").set_value(("test3.tsv", _tsv(english_french_pairs(5, 2), columns=3),
                                                        "text/plain")).run()
    assert not at.exception
    assert "test3.tsv" in at.error[0].value and "3 tab-separated columns" in at.error[0].value


def test_a_subword_vocabulary_the_corpus_cannot_hold_names_the_largest_that_works(app):
    at = _corpus_page(app)
    at.radio(key="data.subwords").set_value("BPE").run()                 # 8,000 pieces: far too many here
    assert not at.exception and "largest size that works here is" in at.error[0].value
    assert at.error[0].value.startswith("eng-fra.tsv (source side)")     # the upload's name, not the store's
    at.number_input(key="data.subword_vocab").set_value(30).run()
    assert_clean(at)
    cfg = at.session_state["data_config"]
    assert (cfg.subwords, cfg.subword_vocab) == ("bpe", 30)
    assert any("Subwords: bpe, 30 source and 30 target pieces" in c.value for c in at.caption)


def test_train_queues_the_official_split_and_subwords_chosen_on_data_and_every_test_sentence_counts(app, home):
    at = _corpus_page(app)
    at.file_uploader(key="data.test_upload").set_value(("test.tsv", TEST, "text/plain")).run()
    at.radio(key="data.subwords").set_value("unigram").run()
    at.number_input(key="data.subword_vocab").set_value(30).run()
    assert_clean(at)
    at = open_page(at, "train")
    at.multiselect(key="train.variants").set_value(["dot"])
    at.number_input(key="train.epochs").set_value(1)
    at.button(key="train.queue_button").click().run()
    assert_clean(at)
    store = RunStore(home)
    wait_until(lambda: len(store.runs()) == 1 and set(store.runs()["status"]) <= set(FINISHED), TRAINING_TIMEOUT,
               "the run queued from Train to finish")
    run = store.run(store.runs()["id"].iloc[0])
    assert run.status == "done", run.error
    assert run.config["data"]["subwords"] == "unigram" and run.config["data"]["corpus_test"]
    assert sum(row.n for row in store.bucket_rows(run.id)) == 25          # the official test file, every pair


def test_the_train_page_calls_an_uploaded_corpus_by_its_files_names_not_its_hash(app):
    at = _corpus_page(app)
    at = open_page(at, "train")
    assert_clean(at)
    data_line = next(m.value for m in at.markdown if m.value.startswith("**Data:**"))
    assert "corpus eng-fra.tsv" in data_line and "imported corpus" not in data_line, data_line


def test_choosing_the_corpus_preset_on_train_keeps_the_imported_corpus_and_adds_its_pieces(app):
    at = _corpus_page(app)
    at.file_uploader(key="data.test_upload").set_value(("test.tsv", TEST, "text/plain")).run()
    chosen = at.session_state["data_config"]
    at = open_page(at, "train")
    at.selectbox(key="train.preset").set_value("corpus")
    at.button(key="train.preset_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    cfg = at.session_state["data_config"]
    assert (cfg.corpus, cfg.corpus_test) == (chosen.corpus, chosen.corpus_test)   # the corpus stays
    assert (cfg.subwords, cfg.subword_vocab, cfg.min_freq) == ("bpe", 4000, 2)
    assert at.number_input(key="train.hidden").value == 192 and at.number_input(key="train.epochs").value == 6
    assert any("eng-fra.tsv" in m.value for m in at.markdown if m.value.startswith("**Data:**"))
