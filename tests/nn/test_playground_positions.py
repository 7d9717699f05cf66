"""attn.nn.position_view: each encoding's term in one query's scores, against hand computations."""
import math

import numpy as np
import pytest
import torch

from attn.config import ModelConfig
from attn.nn import position_view as pv
from attn.nn.models import build_model


def test_alibi_for_four_heads_has_slopes_two_to_the_minus_2_4_6_8_and_bias_minus_m_times_distance():
    bias = pv.alibi_bias(query=3, last_key=6, heads=4)                      # (heads, N+1)
    slopes = np.array([2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8])
    distance = np.abs(3 - np.arange(7))
    assert np.allclose(bias, -slopes[:, None] * distance[None, :])
    assert bias[:, 3].tolist() == [0.0] * 4


def test_causal_mode_masks_the_keys_after_the_query_for_every_encoding():
    frame = pv.position_effects(4, 9, mode="causal")
    assert frame.loc[frame["key"] > 4, "value"].isna().all()
    assert frame.loc[(frame["key"] <= 4) & (frame["encoding"] != "learned"), "value"].notna().all()


def test_rope_score_depends_only_on_i_minus_j_and_matches_the_cosine_sum():
    d = 16
    at_5, at_9 = pv.rope_score(5, 30, d)[0], pv.rope_score(9, 30, d)[0]
    assert np.allclose(at_5[:27], at_9[4:31], atol=1e-5)                    # key j for i = 5 is key j + 4 for i = 9
    theta = 10000.0 ** (-np.arange(0, d, 2) / d)
    hand = [(2 / d) * np.cos((5 - j) * theta).sum() for j in range(31)]
    assert np.allclose(at_5, hand, atol=1e-5) and at_5[5] == pytest.approx(1.0)


def test_sinusoidal_dot_product_is_the_cosine_sum_of_i_minus_j():
    d_model = 8
    omega = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)
    hand = [np.cos((6 - j) * omega).sum() for j in range(13)]
    got = pv.sinusoidal_dot(6, 12, d_model)[0]
    assert np.allclose(got, hand, atol=1e-5) and got[6] == pytest.approx(d_model / 2)


def test_learned_has_no_value_past_its_last_row_nor_for_a_query_without_a_row():
    table = pv.fresh_learned_table(max_positions=5, d_model=8, seed=1)     # (5, 8)
    got = pv.learned_dot(2, 9, table)[0]
    assert np.allclose(got[:5], (table @ table[2]).double().numpy()) and np.isnan(got[5:]).all()
    assert np.isnan(pv.learned_dot(6, 9, table)).all()                      # position 6 has no row either


def test_t5_buckets_follow_the_formula_near_the_query_and_share_buckets_far_away():
    buckets = pv.t5_buckets(20, 60)[0]                                      # bidirectional: 16 per side
    assert [buckets[20 - n] for n in range(8)] == list(range(8))           # j <= i: bucket n = i - j below 8
    assert [buckets[20 + n] for n in range(1, 8)] == [16 + n for n in range(1, 8)]
    n = 40                                                                  # j - i = 40: 16 + 8 + log bucket
    assert buckets[20 + n] == 16 + 8 + int(math.log(n / 8) / math.log(128 / 8) * 8)
    causal = pv.t5_buckets(20, 20, mode="causal")[0]
    assert [causal[20 - n] for n in range(16)] == list(range(16))          # causal: 16 exact buckets


def test_a_trained_t5_table_is_drawn_per_head_and_a_fresh_one_as_bucket_indices():
    table = torch.arange(64, dtype=torch.float32).view(32, 2)              # (buckets, heads)
    frame = pv.position_effects(3, 10, d_model=8, heads=2, tables={"t5": table})
    t5 = frame[frame["encoding"] == "t5"]
    buckets = pv.t5_buckets(3, 10)[0].astype(int)
    assert np.allclose(t5[t5["head"] == 2]["value"], table[buckets, 1].numpy()) and t5["trained"].all()
    fresh = pv.position_effects(3, 10, d_model=8, heads=2)
    assert fresh.loc[fresh["encoding"] == "t5", "value"].tolist() == buckets.tolist()
    assert set(fresh.loc[fresh["encoding"] == "none", "value"]) == {0.0}


def test_trained_tables_reads_the_learned_table_of_a_model():
    cfg = ModelConfig(family="transformer", arch="decoder", positions="learned", hidden=16, heads=2, ff=16,
                      max_positions=10)
    model = build_model(cfg, 7, 7)
    tables = pv.trained_tables(model, "causal")
    module = next(m for m in model.modules() if hasattr(m, "table") and m.table.weight.shape == (10, 16))
    assert torch.equal(tables["learned"], module.table.weight)
    rope = build_model(ModelConfig(family="transformer", arch="decoder", positions="rope", hidden=16, heads=2, ff=16), 7, 7)
    assert pv.trained_tables(rope, "causal") == {}


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="query position must lie among the keys 0..5, got 9"):
        pv.position_effects(9, 5)
    with pytest.raises(ValueError, match="heads = 3 must be >= 1 and divide d_model = 64"):
        pv.position_effects(1, 5, heads=3)
    with pytest.raises(ValueError, match="mode must be one of causal, bidirectional, got 'cross'"):
        pv.alibi_bias(1, 5, 2, mode="cross")
