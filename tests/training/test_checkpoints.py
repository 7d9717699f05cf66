"""attn.training.checkpoints: streaming thinning keeps first and last, spaces the rest evenly, never
exceeds K, and never asks for a checkpoint it deleted; probe maps round-trip as float16."""
import numpy as np
import pytest
import torch

from attn.config import ModelConfig
from attn.data.batching import tensorize
from attn.data.pairs import Pair
from attn.data.text import Vocab
from attn.nn.models import build_model
from attn.training.checkpoints import (MAX_CHECKPOINTS, Thinner, choose_probes, decode_map, encode_map, probe_attention,
                                       targets, thin)
from attn.training.evaluate import decode_split


def _gaps(kept):
    return [b - a for a, b in zip(kept, kept[1:])]


@pytest.mark.parametrize("planned", [50, 51, 99, 120, 200, 1000])
def test_a_run_that_ends_as_planned_keeps_k_with_first_last_and_gaps_even_within_one(planned):
    kept = thin(range(planned), max_keep=MAX_CHECKPOINTS, planned=planned)
    assert len(kept) == 50 and kept[0] == 0 and kept[-1] == planned - 1
    assert max(_gaps(kept)) - min(_gaps(kept)) <= 1


def test_fewer_checkpoints_than_k_are_all_kept():
    assert thin(range(7), max_keep=10, planned=7) == list(range(7))


@pytest.mark.parametrize("planned", [None, 12, 40])
def test_at_every_moment_at_most_k_first_and_newest_kept_and_earlier_gaps_even_within_one(planned):
    thinner, deleted, stored = Thinner(max_keep=10, planned=planned), set(), set()
    for n in range(300):
        step = 100 * (n + 1)                       # a checkpoint every 100 training steps
        stored.add(step)
        gone = thinner.add(step)
        assert set(gone) <= stored and not set(gone) & deleted      # only stored ones, each once
        deleted |= set(gone)
        stored -= set(gone)
        kept = thinner.kept
        assert kept == sorted(stored) and len(kept) <= 10
        assert kept[0] == 100 and kept[-1] == step
        body = _gaps(kept[:-1])                    # the targets so far; the newest may sit closer
        if body:
            assert max(body) - min(body) <= 100 and _gaps(kept)[-1] <= max(body) + 100
        if n >= 20:
            assert len(kept) >= 5                  # thinning keeps at least about half the budget


def test_a_run_longer_than_planned_thins_to_every_other_target_and_ends_even():
    kept = thin(range(199), max_keep=50, planned=100)           # the plan doubles once: 2 * 100 - 1
    assert len(kept) == 50 and kept[0] == 0 and kept[-1] == 198
    assert max(_gaps(kept)) - min(_gaps(kept)) <= 1


def test_targets_of_a_doubled_plan_are_old_targets_below_the_old_horizon():
    old, new = targets(137, 50), targets(2 * 137 - 1, 50)
    assert {n for n in new if n < 137} <= old


def test_checkpoints_out_of_order_and_bad_settings_are_refused():
    thinner = Thinner(max_keep=5)
    thinner.add(10)
    with pytest.raises(ValueError, match="training order"):
        thinner.add(10)
    with pytest.raises(ValueError, match="max_keep"):
        Thinner(max_keep=1)
    with pytest.raises(ValueError, match="planned"):
        Thinner(planned=0)


def test_probe_maps_are_stored_as_float16_and_read_back_as_float32():
    weights = np.array([[0.1234567, 0.8765433], [1.0, 0.0]], dtype=np.float32)
    data = encode_map(weights)
    assert np.load(__import__("io").BytesIO(data)).dtype == np.float16
    back = decode_map(data)
    assert back.dtype == np.float32 and back.shape == (2, 2) and np.allclose(back, weights, atol=1e-3)
    assert len(encode_map(np.zeros((40, 40)))) < 40 * 40 * 2 + 200        # 2 bytes a weight plus the header


def test_a_map_that_is_not_a_finite_matrix_is_refused():
    with pytest.raises(ValueError, match=r"\(T, S\)"):
        encode_map(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        encode_map(np.array([[np.nan]]))


PAIRS = [Pair(tuple("a b".split()), tuple("x y".split())), Pair(tuple("a b c d e".split()), tuple("x y z w".split())),
         Pair(tuple("c".split()), tuple("z".split())), Pair(tuple("a c d".split()), tuple("x z w v".split())),
         Pair(tuple("e d c b a".split()), tuple("w z y x".split())), Pair(tuple("b b b b".split()), tuple("y".split()))]


def test_choose_probes_takes_one_pair_per_bucket_nearest_its_middle_and_skips_empty_buckets():
    # buckets 1-2, 3-4, 5-6, 7-9: middles 1.5, 3.5, 5.5, 8
    assert choose_probes(PAIRS, [1, 3, 5, 7, 10]) == [0, 3, 1]


def _setup(variant):
    src_vocab, tgt_vocab = Vocab.build(p.src for p in PAIRS), Vocab.build(p.tgt for p in PAIRS)
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant=variant, emb=8, hidden=16), len(src_vocab), len(tgt_vocab))
    return model, tensorize(PAIRS, src_vocab, tgt_vocab), tgt_vocab


@pytest.mark.parametrize("variant", ["additive", "dot"])
def test_probe_maps_equal_the_forced_maps_evaluation_stores_and_the_model_keeps_training(variant):
    model, split, tgt_vocab = _setup(variant)
    model.train()
    maps = probe_attention(model, split)
    assert model.training
    decodes = decode_split(model, PAIRS, split, tgt_vocab, [1, 3, 5, 7])
    for got, decode in zip(maps, decodes):
        assert got.dtype == np.float32 and got.shape == decode.forced.shape
        assert np.allclose(got, decode.forced, atol=1e-6)
        assert np.allclose(decode_map(encode_map(got)), decode.forced, atol=1e-3)   # stored as float16


def test_a_model_without_attention_has_no_probe_maps():
    model, split, _ = _setup("none")
    assert probe_attention(model, split) is None
