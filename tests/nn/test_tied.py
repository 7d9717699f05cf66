"""Tied input/output embeddings (Press & Wolf 2017): ModelConfig.tied, every family and variant alike."""
from __future__ import annotations

import dataclasses

import pytest

from attn.config import ConfigError, ModelConfig, RunConfig, preset


def test_tied_is_off_by_default_and_leaves_old_cache_keys_alone():
    cfg = preset("lecture")
    assert cfg.model.tied is False
    # stored before the field existed: the same key as today's default
    old = cfg.to_dict()
    del old["model"]["tied"]
    assert RunConfig.from_dict(old).key() == cfg.key()
    tied = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, tied=True))
    assert tied.key() != cfg.key()


def test_tied_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"model\.tied = .yes. is not one of: False, True"):
        ModelConfig(tied="yes")
