"""sacrebleu's signatures travel with every run's overall metrics and name the tokenizer that really ran."""
import sacrebleu

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.data.pairs import Pair, ParallelData
from attn.data.tasks import load_task
from attn.training.evaluate import signatures
from attn.training.experiment import prepare, run


def _data(level):
    pairs = (Pair(("a", "b"), ("x", "y")),) * 3
    return ParallelData("t", pairs, pairs, pairs, level=level)


def test_signature_names_13a_for_words_and_char_for_characters():
    words, chars = signatures(_data("word")), signatures(_data("char"))
    assert "|tok:13a|" in words["bleu_signature"] and "|tok:char|" in chars["bleu_signature"]
    assert f"version:{sacrebleu.__version__}" in words["bleu_signature"]
    assert words["chrf_signature"].startswith("nrefs:1|") and "nc:6|nw:0" in words["chrf_signature"]


def _run(task, level_tok):
    data = load_task(task, n_train=60, n_valid=10, n_test=10, seed=1)
    cfg = RunConfig(data=DataConfig(task=task), model=ModelConfig(variant="dot", emb=8, hidden=16),
                    train=TrainConfig(epochs=1, batch=16))
    result = run(cfg, prepare(cfg.data, data))
    overall = result.summary()["overall"]
    assert f"|tok:{level_tok}|" in overall["bleu_signature"]
    assert overall["chrf_signature"] == signatures(data)["chrf_signature"]
    assert overall["bleu"] == result.overall["bleu"] and overall["n"] == len(data.test)


def test_a_word_level_run_reports_the_13a_signature_with_its_overall_metrics():
    _run("reverse", "13a")


def test_a_character_level_run_reports_the_char_signature_with_its_overall_metrics():
    _run("dates", "char")


def test_a_word_level_corpus_is_scored_on_detokenized_output_against_the_written_reference(tmp_path):
    from attn.data.corpus import load_tsv
    from attn.training.evaluate import Decode, bucket_table

    path = tmp_path / "c.tsv"
    path.write_text("I see the man.\tJe vois l\u2019homme.\n" * 3, encoding="utf-8")
    data = load_tsv(str(path))
    assert data.test[0].ref == "Je vois l'homme."                 # as written, apostrophe unified
    hyp = ["Je", "vois", "l'", "homme"]                            # the final full stop missing
    decodes = [Decode(index=0, bucket=0, src=data.test[0].src, ref=data.test[0].tgt, hyp=hyp)]
    table = bucket_table(decodes, data, [0, 10])
    expected = sacrebleu.corpus_bleu(["Je vois l'homme"], [["Je vois l'homme."]], tokenize="13a").score
    assert table.loc[0, "bleu"] == expected


def test_the_store_keeps_the_signatures_with_the_run_and_the_caption_says_they_were_stored(tmp_path):
    from attn.runs.store import RunStore
    from attn.viz.tables import scoring_caption
    data = load_task("reverse", n_train=60, n_valid=10, n_test=10, seed=1)
    cfg = RunConfig(data=DataConfig(task="reverse"), model=ModelConfig(variant="dot", emb=8, hidden=16),
                    train=TrainConfig(epochs=1, batch=16))
    result = run(cfg, prepare(cfg.data, data))
    store = RunStore(tmp_path)
    stored = store.run(store.save_finished(cfg, result))
    assert stored.overall["bleu_signature"] == result.signatures["bleu_signature"]
    assert stored.overall["chrf_signature"] == result.signatures["chrf_signature"]
    caption = scoring_caption([stored])
    assert "tok:13a" in caption and "not stored" not in caption
