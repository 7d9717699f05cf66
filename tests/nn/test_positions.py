"""Positional encodings against their papers' formulas, computed by hand here."""
import math

import pytest
import torch

from attn.config import POSITIONS
from attn.nn.positions import (BIDIRECTIONAL, CAUSAL, CROSS, POSITIONAL, ALiBi, Learned, PositionalEncoding,
                               Rotary, Sinusoidal, T5Bias, alibi_slopes, make_positions, t5_bucket)


def test_registry_holds_exactly_the_configs_names():
    assert tuple(POSITIONAL) == POSITIONS


def test_unknown_encoding_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown positional encoding 'xpos'.*sinusoidal, learned, rope"):
        make_positions("xpos", 8, 2, 16)


def test_sinusoidal_adds_sin_and_cos_of_the_papers_frequencies():
    d, positions = 6, [0, 1, 5, 37]
    pe = Sinusoidal(d, 2, 16)
    out = pe.embed(torch.zeros(1, len(positions), d), torch.tensor([positions]))
    for row, p in enumerate(positions):
        for i in range(d // 2):
            angle = p / 10000 ** (2 * i / d)
            assert out[0, row, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert out[0, row, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_takes_each_rows_own_positions():
    pe = Sinusoidal(4, 1, 16)
    x = torch.randn(2, 3, 4)
    per_row = pe.embed(x, torch.tensor([[0, 1, 2], [4, 5, 6]]))
    assert torch.allclose(per_row[1], pe.embed(x[1:], torch.tensor([[4, 5, 6]]))[0])
    assert not torch.allclose(per_row[0], per_row[1] - x[1] + x[0])


def test_learned_positions_past_the_table_use_its_last_row():
    torch.manual_seed(0)
    pe = Learned(4, 1, max_positions=5)
    out = pe.embed(torch.zeros(1, 4, 4), torch.tensor([[3, 4, 5, 9]]))
    table = pe.table.weight
    assert torch.equal(out[0, 0], table[3]) and torch.equal(out[0, 1], table[4])
    assert torch.equal(out[0, 2], table[4]) and torch.equal(out[0, 3], table[4])


def test_rope_rotates_each_pair_by_position_times_its_frequency():
    x = torch.tensor([1.0, 2.0, 3.0, -1.0]).expand(1, 1, 3, 4)               # (B, h, L, d)
    out = Rotary(4, 1, 16).rotate(x, torch.tensor([[0, 1, 7]]))
    for row, p in enumerate([0, 1, 7]):
        for i, (a, b) in enumerate([(1.0, 2.0), (3.0, -1.0)]):
            angle = p * 10000 ** (-2 * i / 4)                                  # theta_0 = 1, theta_1 = 0.01
            assert out[0, 0, row, 2 * i].item() == pytest.approx(a * math.cos(angle) - b * math.sin(angle), abs=1e-5)
            assert out[0, 0, row, 2 * i + 1].item() == pytest.approx(a * math.sin(angle) + b * math.cos(angle), abs=1e-5)


def test_rope_keeps_norms():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 10, 8)
    out = Rotary(24, 3, 16).rotate(x, torch.arange(10)[None])
    assert torch.allclose(out.norm(dim=-1), x.norm(dim=-1), atol=1e-5)


def test_rope_dot_product_depends_only_on_the_offset():
    torch.manual_seed(0)
    rope = Rotary(8, 1, 16)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    def score(i, j):
        return (rope.rotate(q, torch.tensor([[i]])) * rope.rotate(k, torch.tensor([[j]]))).sum().item()
    assert score(5, 2) == pytest.approx(score(3, 0), abs=1e-5)
    assert score(5, 2) == pytest.approx(score(40, 37), abs=1e-4)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)


def test_alibi_slopes_for_eight_heads_halve_from_one_half():
    assert alibi_slopes(8) == pytest.approx([1 / 2 ** h for h in range(1, 9)])


def test_alibi_slopes_for_heads_not_a_power_of_two_interleave_the_next_power():
    # 6 heads: the 4-head slopes 2^(-2h), then every other slope of 8 heads (1/2, 1/8)
    assert alibi_slopes(6) == pytest.approx([1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8])
    # 12 heads: the 8-head slopes, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 from the 16-head ones
    assert alibi_slopes(12) == pytest.approx([2 ** -h for h in range(1, 9)] + [2 ** -(h + 0.5) for h in range(4)])


def test_alibi_causal_bias_is_minus_slope_times_distance_back():
    pe = ALiBi(8, 2, 16)
    positions = torch.arange(4)[None]
    bias = pe.bias(positions, positions, CAUSAL)                               # (1, 2, 4, 4)
    assert bias.shape == (1, 2, 4, 4)
    for h, m in enumerate([1 / 16, 1 / 256]):                                  # 2 heads: 2^(-8h/2)
        for i in range(4):
            for j in range(i + 1):
                assert bias[0, h, i, j].item() == pytest.approx(-m * (i - j))


@pytest.mark.parametrize("mode", [BIDIRECTIONAL, CROSS])
def test_alibi_bidirectional_and_cross_bias_is_symmetric_in_distance(mode):
    pe = ALiBi(8, 4, 16)
    bias = pe.bias(torch.arange(3)[None], torch.arange(5)[None], mode)         # (1, 4, 3, 5)
    slopes = alibi_slopes(4)
    for h in range(4):
        for i in range(3):
            for j in range(5):
                assert bias[0, h, i, j].item() == pytest.approx(-slopes[h] * abs(i - j))


def test_t5_bidirectional_buckets_match_the_formula():
    # 32 buckets, 16 per direction, exact below 8, then 8 + floor(log(n/8) / log(128/8) * 8), at most 15
    relative = torch.tensor([0, 3, -3, -8, -20, -200, 8, 200])
    expected = [0, 16 + 3, 3, 8, 8 + math.floor(math.log(20 / 8) / math.log(16) * 8), 15, 16 + 8, 16 + 15]
    assert t5_bucket(relative, bidirectional=True).tolist() == expected


def test_t5_causal_buckets_match_the_formula():
    # n = max(i - j, 0): exact below 16, then 16 + floor(log(n/16) / log(128/16) * 16), at most 31
    relative = torch.tensor([0, 5, -1, -15, -16, -20, -1000])
    expected = [0, 0, 1, 15, 16, 16 + math.floor(math.log(20 / 16) / math.log(8) * 16), 31]
    assert t5_bucket(relative, bidirectional=False).tolist() == expected


def test_t5_bias_is_the_learned_scalar_of_each_heads_bucket():
    torch.manual_seed(0)
    pe = T5Bias(8, 2, 16)
    torch.nn.init.normal_(pe.table.weight)
    q, k = torch.arange(3)[None], torch.arange(40)[None]
    for mode, bidirectional in ((BIDIRECTIONAL, True), (CAUSAL, False)):
        bias = pe.bias(q, k, mode)                                             # (1, 2, 3, 40)
        for i in range(3):
            for j in range(40):
                bucket = int(t5_bucket(torch.tensor(j - i), bidirectional))
                assert torch.equal(bias[0, :, i, j], pe.table.weight[bucket])
    assert pe.bias(q, k, CROSS) is None


def test_nope_changes_nothing():
    pe = PositionalEncoding(8, 2, 16)
    x = torch.randn(2, 3, 8)
    assert pe.embed(x, torch.arange(3)[None]) is x
    assert pe.rotate(x, torch.arange(3)[None]) is x
    assert pe.bias(torch.arange(3)[None], torch.arange(3)[None], CAUSAL) is None


@pytest.mark.parametrize("name", [n for n in POSITIONS if n not in ("sinusoidal", "learned")])
def test_only_additive_encodings_touch_the_embeddings(name):
    x = torch.randn(1, 5, 8)
    assert torch.equal(make_positions(name, 8, 2, 16).embed(x, torch.arange(5)[None]), x)
