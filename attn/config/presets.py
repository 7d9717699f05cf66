"""The presets: named RunConfigs that the CLI (`--preset`), the Train page and the Home demos start from.

    lecture  the live demo: none, additive and dot on toy-fr, the textbook result in well under a minute
    tiny     seconds-long runs of the reverse task, for tests and a first look
    length   train short, test long: `length_configs` (three RNNs and a Transformer per positional encoding)
    corpus   a 20-50k-pair imported corpus (Multi30k's shape) showing the length effect in about 10 minutes:
             `python -m attn train --preset corpus --data train.tsv --valid valid.tsv --test test.tsv`

The corpus preset's data fields are a built-in task's, so that the preset alone also runs (toy-fr at
corpus size); `--data` swaps in the corpus, keeps the rest and adds CORPUS_DATA[preset] (settings that
apply to an imported corpus only). Its choices, each the same for all three variants, so the comparison
stays fair:
  * SentencePiece BPE, 4,000 pieces per side, trained on the training split (buckets stay in source
    words). In the 29,000-pair stand-in of benchmarks/make_corpus.py words give a 12,195-entry target
    vocabulary, and its output layer is most of a step; 4,000 pieces (3,635 kept) made an epoch of the
    three variants 3.6x faster than the word-level defaults, 8,000 pieces 2.7x (docs/benchmarks.md).
    Small vocabularies suit small corpora (Sennrich & Zhang 2019);
  * min_freq 2: a piece (or word) seen once in training is <unk>;
  * tied input/output embeddings (ModelConfig.tied, Press & Wolf 2017): the output layer is the target
    embedding table, emb wide instead of hidden: fewer parameters to fit from rare words, a cheaper
    output layer;
  * a larger decoder state than the lecture's (hidden 192) for sentences of up to 40 words;
  * up to 6 epochs, Adam at 5e-3 decaying linearly to a tenth, and early stopping on validation BLEU
    (greedy decodes of the validation split after each epoch, patience 2; the run keeps its best epoch).
"""
from __future__ import annotations

import dataclasses

from attn.config.configs import POSITIONS, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig

# Presets. `lecture` is the live demo: three variants on toy-fr reaching the textbook result
# (attention far ahead of no-attention on long sentences) in well under a minute on a 2-core laptop.
PRESETS: dict[str, RunConfig] = {
    "lecture": RunConfig(
        data=DataConfig(task="toy-fr", n_train=10000, n_valid=200, n_test=600, max_len=40,
                        length_dist="natural"),
        model=ModelConfig(style="luong", emb=64, hidden=128),
        train=TrainConfig(epochs=4, batch=64, lr=1e-2, lr_schedule="linear"),
    ),
    "tiny": RunConfig(
        data=DataConfig(task="reverse", n_train=300, n_valid=40, n_test=60, min_len=3, max_len=12),
        model=ModelConfig(style="luong", emb=16, hidden=32),
        train=TrainConfig(epochs=2, batch=32, lr=1e-2, log_every=2),
    ),
    # Train short, test long (Kazemnejad et al. 2023, "The Impact of Positional Encoding on Length
    # Generalization in Transformers"): reverse sources of 2-20 tokens in training, 2-40 in the test, the
    # buckets cut at 21 (pairs.split_at_training). This config is the RNN of `length_configs`.
    "length": RunConfig(
        data=DataConfig(task="reverse", n_train=8000, n_valid=200, n_test=400, min_len=2, max_len=20,
                        test_max_len=40, n_buckets=8),
        model=ModelConfig(style="luong", emb=64, hidden=80),
        train=TrainConfig(epochs=8, batch=64, lr=2e-3, lr_schedule="linear"),
    ),
    "corpus": RunConfig(
        data=DataConfig(task="toy-fr", n_train=29000, n_valid=1000, n_test=1000, max_len=40,
                        length_dist="natural", min_freq=2),
        model=ModelConfig(style="luong", emb=64, hidden=192, tied=True),
        train=TrainConfig(epochs=6, batch=64, lr=5e-3, lr_schedule="linear", patience=2, early_stop="bleu"),
    ),
}

# Data settings a preset adds when it runs on an imported corpus (`--data`): they apply to a corpus only,
# so the preset itself cannot hold them (DataConfig refuses subwords on a built-in task).
CORPUS_DATA: dict[str, dict] = {
    "corpus": {"subwords": "bpe", "subword_vocab": 4000},
}

# The `length` preset's Transformer: decoder-only, as Kazemnejad et al. used (NoPE needs a causal stack),
# one architecture for every encoding so that only `positions` differs. Its parameter count is within
# 20 % of the preset's RNNs (benchmarks/length_preset.py prints them). max_positions = 128 covers the
# longest test sequence (40 source + <s> + 40 target tokens): a learned table has rows there, untrained.
LENGTH_TRANSFORMER = ModelConfig(family="transformer", arch="decoder", hidden=64, layers=2, heads=4, ff=256,
                                 max_positions=128)
LENGTH_VARIANTS = ("none", "additive", "dot")  # the RNNs of the `length` preset


def length_configs(seeds=(0,)) -> list[RunConfig]:
    """Every run of the `length` preset for each seed: the RNN without attention, with additive and with
    dot attention, then the Transformer with each positional encoding in POSITIONS. All share the data,
    the training settings (steps, learning-rate schedule) and the seed; the RNNs share one size and the
    Transformers another.
    """
    base = PRESETS["length"]
    configs = []
    for seed in seeds:
        configs += [base.with_variant(v, seed=int(seed)) for v in LENGTH_VARIANTS]
        configs += [dataclasses.replace(base, model=dataclasses.replace(LENGTH_TRANSFORMER, positions=p),
                                        seed=int(seed)) for p in POSITIONS]
    return configs


def preset(name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def on_corpus(name: str, corpus: str, **changes) -> DataConfig:
    """Preset `name`'s data on the imported corpus `corpus`: its own fields, CORPUS_DATA[name], then `changes`."""
    return dataclasses.replace(preset(name).data, task="corpus", corpus=corpus,
                               **{**CORPUS_DATA.get(name, {}), **changes})


def preset_data(name: str, current: DataConfig | None = None) -> DataConfig:
    """The data preset `name` runs on when chosen on the Train page: an imported corpus already chosen stays
    (its files, splits and options), with the preset's min_freq and CORPUS_DATA[name] laid over it; anything
    else gives way to the preset's own data."""
    if current is None or not current.corpus:
        return preset(name).data
    kept = dataclasses.replace(current, min_freq=preset(name).data.min_freq)
    try:
        return dataclasses.replace(kept, **CORPUS_DATA.get(name, {}))
    except ConfigError:  # settings this corpus cannot take (subwords of a character-level corpus): without them
        return kept
