"""The figure the app exists for, on a setting small enough for CI: without attention, quality falls
with sentence length; with attention it holds. (The full lecture-preset figures are in the README.)"""

import pytest

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.training.experiment import prepare, run

SMALL = RunConfig(
    data=DataConfig(task="toy-fr", n_train=4000, n_valid=100, n_test=300, max_len=30, length_dist="natural"),
    model=ModelConfig(emb=32, hidden=96),
    train=TrainConfig(epochs=4, batch=32, lr=8e-3, lr_schedule="linear"),
)


@pytest.fixture(scope="module")
def bleu_by_variant():
    prepared = prepare(SMALL.data)
    return {v: [b.bleu for b in run(SMALL.with_variant(v), prepared).buckets] for v in ("none", "additive", "dot")}


def test_attention_beats_no_attention_on_the_longest_bucket(bleu_by_variant):
    longest = {v: b[-1] for v, b in bleu_by_variant.items()}
    assert longest["additive"] > longest["none"] + 10, longest
    assert longest["dot"] > longest["none"] + 10, longest


def test_no_attention_degrades_with_length_more_than_attention(bleu_by_variant):
    drop = {v: b[0] - b[-1] for v, b in bleu_by_variant.items()}
    assert drop["none"] > drop["additive"] and drop["none"] > drop["dot"], drop
