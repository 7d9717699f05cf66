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
