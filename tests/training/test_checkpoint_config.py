"""TrainConfig.checkpoints and TrainConfig.probe (issue 13): stored runs keep their cache keys, a config
that turns checkpoints off or names a probe is another run, and a bad probe is refused naming the field."""
import dataclasses

import pytest

from attn.config import PRESETS, ConfigError, RunConfig, TrainConfig


def test_a_config_stored_before_the_fields_keeps_its_key_and_reads_back_with_checkpoints_on():
    cfg = PRESETS["lecture"]
    stored = cfg.to_dict()
    del stored["train"]["checkpoints"], stored["train"]["probe"]
    old = RunConfig.from_dict(stored)
    assert old.key() == cfg.key() and old.train.checkpoints is True and old.train.probe == ""


def test_checkpoints_off_or_a_probe_sentence_is_another_run_in_the_cache():
    cfg = PRESETS["lecture"]
    off = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, checkpoints=False))
    probe = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, probe="the cat sleeps ."))
    assert len({cfg.key(), off.key(), probe.key()}) == 3


@pytest.mark.parametrize("changes, message", [({"probe": "   "}, "train.probe is blank"),
                                              ({"probe": "a " * 5000}, "train.probe has 10000 characters"),
                                              ({"probe": 3}, "must be text"),
                                              ({"checkpoints": "yes"}, "train.checkpoints")])
def test_a_bad_probe_or_switch_is_refused_naming_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)
