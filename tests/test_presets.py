"""The presets of attn.config.presets: the corpus preset beside the others, usable everywhere."""
from __future__ import annotations

import dataclasses

import pytest

from attn.config import PRESETS, DataConfig, preset
from attn.runs import plans


def test_plans_registers_the_corpus_preset_beside_the_others():
    assert {"lecture", "tiny", "length", "corpus"} <= set(PRESETS)
    cfg = preset("corpus")
    assert cfg.model.tied and cfg.data.min_freq == 2 and cfg.train.patience is not None


def test_the_train_page_can_lay_out_the_corpus_preset():
    values = plans.preset_values("corpus")
    assert values["train.hidden"] == preset("corpus").model.hidden
    base = plans.training_config(preset("corpus").data, "corpus", style="luong", emb=64, hidden=192, scaled=True,
                                 epochs=4, batch=64, lr=5e-3, teacher_forcing=1.0)
    assert base.model.tied and base.train.patience == preset("corpus").train.patience


@pytest.mark.parametrize("variant", plans.LECTURE_VARIANTS)
def test_a_corpus_given_with_the_preset_keeps_its_settings(tmp_path, variant):
    """What `--data` does to the preset (attn.cli.main.with_flags): the corpus replaces the task only."""
    corpus = tmp_path / "train.tsv"
    corpus.write_text("a b .\tx y .\n" * 3, encoding="utf-8")
    cfg = preset("corpus").with_variant(variant)
    data = dataclasses.replace(cfg.data, task="corpus", corpus=str(corpus))
    assert isinstance(data, DataConfig) and data.min_freq == 2 and cfg.model.tied
    assert plans.plan_runs(dataclasses.replace(cfg, data=data), [variant], [0])[0].model.variant == variant


def test_the_corpus_preset_on_a_corpus_reads_bpe_pieces_and_a_flag_overrides_them(tmp_path):
    """`--preset corpus --data FILE` adds CORPUS_DATA (BPE, 4,000 pieces: settings a built-in task refuses);
    `--subwords`/`--subword-vocab` win over them; another preset on the same file stays at words."""
    from attn.cli.main import base_config, build_parser
    from attn.config import CORPUS_DATA, on_corpus
    corpus = tmp_path / "train.tsv"
    corpus.write_text("a b .\tx y .\n" * 3, encoding="utf-8")

    def data(*flags):
        return base_config(build_parser().parse_args(["train", "--data", str(corpus), *flags])).data

    got = data("--preset", "corpus")
    assert (got.subwords, got.subword_vocab) == ("bpe", 4000) == tuple(CORPUS_DATA["corpus"].values())
    assert got == on_corpus("corpus", str(corpus))
    assert preset("corpus").data.subwords is None        # the preset alone runs on its built-in task
    assert data("--preset", "corpus", "--subwords", "unigram", "--subword-vocab", "500").subwords == "unigram"
    assert data("--preset", "lecture").subwords is None
    assert preset("corpus").train.early_stop == "bleu" and preset("corpus").train.patience


def test_choosing_a_preset_on_the_train_page_keeps_an_imported_corpus():
    from attn.config import preset_data
    corpus = DataConfig(task="corpus", corpus="/data/train.tsv", corpus_valid="/data/valid.tsv", lowercase=True)
    chosen = preset_data("corpus", corpus)
    assert (chosen.corpus, chosen.corpus_valid, chosen.lowercase) == ("/data/train.tsv", "/data/valid.tsv", True)
    assert (chosen.subwords, chosen.subword_vocab, chosen.min_freq) == ("bpe", 4000, 2)
    chars = preset_data("corpus", dataclasses.replace(corpus, level="char"))   # pieces need words: left out
    assert (chars.level, chars.subwords, chars.min_freq) == ("char", None, 2)
    assert preset_data("lecture", corpus).subwords is None and preset_data("lecture", corpus).corpus
    assert preset_data("corpus", preset("lecture").data) == preset("corpus").data  # a built-in task gives way
    assert preset_data("tiny") == preset("tiny").data
