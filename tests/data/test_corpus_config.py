"""The issue-15 DataConfig fields: official splits and subwords, checked where they are made, and keys
of configs made before them unchanged."""
from __future__ import annotations

import pytest

from attn.config import NEW_FIELDS, ConfigError, DataConfig, RunConfig


def test_new_fields_leave_existing_keys_unchanged():
    import hashlib
    import json

    cfg = RunConfig()
    old = cfg.to_dict()
    for name in ("corpus_valid", "corpus_test", "subwords", "subword_vocab"):
        del old["data"][name]                  # the dict a config made before the fields had ...
    for section, name in NEW_FIELDS:
        old[section].pop(name, None)           # (every NEW_FIELD at its default leaves the key as well)
    blob = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert cfg.key() == hashlib.sha256(blob.encode()).hexdigest()[:16]  # ... gives the same key
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with_subwords = RunConfig(data=DataConfig(task="corpus", corpus="c.tsv", subwords="bpe"))
    assert with_subwords.key() != RunConfig(data=DataConfig(task="corpus", corpus="c.tsv")).key()


@pytest.mark.parametrize("fields, message", [
    ({"subwords": "wordpiece"}, "data.subwords = 'wordpiece' is not one of"),
    ({"subwords": "bpe", "subword_vocab": 4}, "data.subword_vocab = 4 is outside the allowed range 8.."),
    ({"subwords": "bpe", "level": "char"}, "data.level must be 'word', got 'char'"),
])
def test_bad_subword_settings_name_the_field_and_what_is_allowed(fields, message):
    with pytest.raises(ConfigError, match=message):
        DataConfig(task="corpus", corpus="c.tsv", **fields)


@pytest.mark.parametrize("name", ["corpus_valid", "corpus_test", "subwords"])
def test_corpus_only_settings_on_a_built_in_task_are_refused(name):
    with pytest.raises(ConfigError, match=f"data.{name} = .* applies to an imported corpus only"):
        DataConfig(**{name: "bpe" if name == "subwords" else "v.tsv"})
