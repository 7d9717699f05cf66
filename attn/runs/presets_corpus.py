"""The `corpus` preset: a 20-50k-pair corpus (Multi30k's shape) showing the length effect in ~10 minutes.

    python -m attn train --preset corpus --data train.tsv --valid valid.tsv --test test.tsv

Registered in attn.config.PRESETS when attn.runs.plans is imported (plans registers it), so the CLI,
the Train page and `preset("corpus")` see it beside lecture, tiny and length. attn.config cannot hold
it itself (it is at its 400-line limit); the data fields here are a built-in task's so that the preset
alone also runs (toy-fr at corpus size), and `--data` swaps in the corpus while keeping the rest:

  * min_freq 2: a word seen once in training is <unk> on both sides. In the 29,000-pair stand-in of
    benchmarks/make_corpus.py that is 17 % of the target word types but 0.6 % of its tokens, and the
    output layer (the largest cost of a step at this vocabulary) shrinks with it;
  * tied input/output embeddings (ModelConfig.tied, Press & Wolf 2017): the output layer is the target
    embedding table, emb wide instead of hidden: fewer parameters to fit from rare words, a cheaper
    output layer; all three variants alike, so the comparison stays fair;
  * a larger decoder state than the lecture's (hidden 192) for sentences of up to 40 words;
  * 4 epochs, Adam at 5e-3 decaying linearly to a tenth; early stopping on the validation loss
    (patience 2: the trainer stops on validation loss, it has no validation-BLEU criterion).
"""
from __future__ import annotations

from attn.config import PRESETS, DataConfig, ModelConfig, RunConfig, TrainConfig

NAME = "corpus"

CORPUS = RunConfig(
    data=DataConfig(task="toy-fr", n_train=29000, n_valid=1000, n_test=1000, max_len=40, length_dist="natural",
                    min_freq=2),
    model=ModelConfig(style="luong", emb=64, hidden=192, tied=True),
    train=TrainConfig(epochs=4, batch=64, lr=5e-3, lr_schedule="linear", patience=2),
)


def register() -> None:
    """Add the preset to attn.config.PRESETS (idempotent; a preset of that name already there stays)."""
    PRESETS.setdefault(NAME, CORPUS)
