"""Positional encodings for the Transformer, behind one interface, found by name in a registry.

Self-attention alone is blind to order: permuting the keys permutes nothing in a query's output.
Each encoding puts position back in at one of three places, and the attention layer calls all three
without knowing which one its encoding uses (the defaults are no-ops):

    x    = embed(x, positions)                   add a vector per position to the token embeddings
    q, k = rotate(q, positions), rotate(k, ...)  rotate queries and keys (self-attention only)
    bias(q_positions, k_positions, mode)         add a (B|1, heads, T, S) term to the attention scores

Positions are long tensors (B|1, L): 1 when every row shares them (training), B when each row has its
own (the decoder-only model's target starts after each row's own source). `mode` says what the
scores compare: "causal" (a decoder's self-attention), "bidirectional" (an encoder's) or "cross"
(target queries over source keys: positions of two different sequences).
"""
from __future__ import annotations

import math

import torch
from torch import nn

CAUSAL, BIDIRECTIONAL, CROSS = "causal", "bidirectional", "cross"


class PositionalEncoding(nn.Module):
    """NoPE, and the base of every encoding: no position anywhere (Kazemnejad et al. 2023).

    A causal decoder without positions can still tell order: its t-th token attends to exactly t
    tokens, which the model can count (Kazemnejad et al. 2023, arXiv 2305.19466). A bidirectional
    encoder cannot; the config refuses NoPE with the encoder-decoder (attn.config.ModelConfig).
    """

    def __init__(self, d_model: int, heads: int, max_positions: int):
        super().__init__()
        self.d_model, self.heads, self.max_positions = d_model, heads, max_positions

    def embed(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), positions (B|1, L) -> x with positions added (B, L, D)."""
        return x

    def rotate(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x (B, heads, L, d) queries or keys, positions (B|1, L) -> x rotated by position."""
        return x

    def bias(self, q_positions: torch.Tensor, k_positions: torch.Tensor, mode: str) -> torch.Tensor | None:
        """q_positions (B|1, T), k_positions (B|1, S) -> additive score bias (B|1, heads, T, S), or None."""
        return None


def sinusoid_angles(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """positions (B|1, L) -> angles p / 10000^(2i/dim) for i < dim/2, as (B|1, L, dim/2) float32."""
    inv_freq = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float32, device=positions.device) / dim)
    return positions.to(torch.float32)[..., None] * inv_freq


class Sinusoidal(PositionalEncoding):
    """PE(p, 2i) = sin(p / 10000^(2i/D)),  PE(p, 2i+1) = cos(p / 10000^(2i/D)),  x + PE
    (Vaswani et al. 2017). Defined for every position, so nothing is out of range."""

    def embed(self, x, positions):
        angles = sinusoid_angles(positions, self.d_model)                       # (B|1, L, D/2)
        pe = torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)      # (B|1, L, D) interleaved
        return x + pe.to(x.dtype)


class Learned(PositionalEncoding):
    """x + P[p] with P a learned (max_positions, D) table (Gehring et al. 2017; BERT, GPT-2).

    Positions >= max_positions have no row of their own: they are clamped to the last row,
    P[min(p, max_positions - 1)], so every later position looks the same (the model sees the
    table's end, never an error and never a random row). Rows the training data never reached keep
    their initial values: a model trained on short inputs has no learned meaning for them.
    """

    def __init__(self, d_model, heads, max_positions):
        super().__init__(d_model, heads, max_positions)
        self.table = nn.Embedding(max_positions, d_model)
        nn.init.normal_(self.table.weight, std=0.02)

    def embed(self, x, positions):
        return x + self.table(positions.clamp(max=self.max_positions - 1))      # (B, L, D)


class Rotary(PositionalEncoding):
    """RoPE (Su et al. 2021): each pair (x_2i, x_2i+1) of a query or key at position p is rotated by
    the angle p * theta_i, theta_i = 10000^(-2i/d):

        x'_2i   = x_2i cos(p theta_i) - x_2i+1 sin(p theta_i)
        x'_2i+1 = x_2i sin(p theta_i) + x_2i+1 cos(p theta_i)

    so q_i . k_j depends on the positions only through i - j, and norms are unchanged. Applied in
    self-attention only: cross-attention compares a target position with a source position, which
    are positions in two different sequences (its scores carry no position, as in the encoder-decoder
    RoPE models that rotate self-attention only).
    """

    def rotate(self, x, positions):
        angles = sinusoid_angles(positions, x.size(-1))                         # (B|1, L, d/2)
        cos = angles.cos()[:, None].to(x.dtype)                                 # (B|1, 1, L, d/2)
        sin = angles.sin()[:, None].to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]                                  # (B, heads, L, d/2)
        return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


def alibi_slopes(heads: int) -> list[float]:
    """Head h (1-based) of n = 2^k heads gets m_h = 2^(-8h/n): 1/2, 1/4, ..., 1/256 for 8 heads.
    Other n: the slopes of the nearest lower power of two 2^k, then every other slope of 2^(k+1) heads
    until there are n (Press et al. 2022, "Train Short, Test Long", their reference code)."""
    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (h + 1) for h in range(n)]
    if math.log2(heads).is_integer():
        return power_of_two(heads)
    lower = 2 ** math.floor(math.log2(heads))
    return power_of_two(lower) + alibi_slopes(2 * lower)[0::2][:heads - lower]


class ALiBi(PositionalEncoding):
    """score_ij += -m_h (i - j) for keys j <= i (Press et al. 2022), fixed geometric slopes m_h
    (`alibi_slopes`), no learned parameter and nothing added to the embeddings.

    The paper defines it for causal attention, where j <= i always. For bidirectional self-attention
    and for cross-attention we use the symmetric -m_h |i - j| (a key as far ahead is penalised as
    much as one as far behind; in cross-attention i is the target and j the source position).
    """

    def __init__(self, d_model, heads, max_positions):
        super().__init__(d_model, heads, max_positions)
        self.register_buffer("slopes", torch.tensor(alibi_slopes(heads)), persistent=False)  # (heads,)

    def bias(self, q_positions, k_positions, mode):
        distance = (q_positions[:, :, None] - k_positions[:, None, :]).to(self.slopes.dtype)  # (B|1, T, S)
        if mode != CAUSAL:
            distance = distance.abs()
        # future keys (j > i) get a positive value here; the causal mask removes them
        return -self.slopes[None, :, None, None] * distance[:, None]            # (B|1, heads, T, S)


def t5_bucket(relative: torch.Tensor, bidirectional: bool, num_buckets: int = 32,
              max_distance: int = 128) -> torch.Tensor:
    """relative = j - i (key minus query position) -> bucket in [0, num_buckets)   (Raffel et al. 2020).

    Bidirectional: half the buckets for j > i (offset num_buckets/2), half for j <= i, by n = |j - i|.
    Causal: all buckets for n = max(i - j, 0) (future keys share bucket 0; the mask removes them).
    With b buckets left, n < b/2 is its own bucket; larger n share logarithmic buckets:
        b/2 + floor(log(n / (b/2)) / log(max_distance / (b/2)) * (b - b/2)),  at most b - 1.
    """
    buckets = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative > 0).long() * num_buckets
        n = relative.abs()
    else:
        n = (-relative).clamp(min=0)
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return buckets + torch.where(n < max_exact, n, large)


class T5Bias(PositionalEncoding):
    """score_ij += b_h[bucket(j - i)]: a learned scalar per head and distance bucket (Raffel et al.
    2020, T5), bidirectional buckets in an encoder, causal buckets in a decoder (`t5_bucket`).
    Cross-attention gets no bias, as in T5. Initialised at zero: training starts position-blind.
    """

    num_buckets, max_distance = 32, 128

    def __init__(self, d_model, heads, max_positions):
        super().__init__(d_model, heads, max_positions)
        self.table = nn.Embedding(self.num_buckets, heads)                     # (buckets, heads)
        nn.init.zeros_(self.table.weight)

    def bias(self, q_positions, k_positions, mode):
        if mode == CROSS:
            return None
        relative = k_positions[:, None, :] - q_positions[:, :, None]            # (B|1, T, S): j - i
        buckets = t5_bucket(relative, mode == BIDIRECTIONAL, self.num_buckets, self.max_distance)
        return self.table(buckets).permute(0, 3, 1, 2)                          # (B|1, heads, T, S)


POSITIONAL: dict[str, type[PositionalEncoding]] = {
    "sinusoidal": Sinusoidal,
    "learned": Learned,
    "rope": Rotary,
    "alibi": ALiBi,
    "t5": T5Bias,
    "none": PositionalEncoding,
}


def make_positions(name: str, d_model: int, heads: int, max_positions: int) -> PositionalEncoding:
    """The encoding called `name`; an unknown name is an error listing the valid ones."""
    if name not in POSITIONAL:
        raise ValueError(f"unknown positional encoding {name!r}; valid: {', '.join(POSITIONAL)}")
    return POSITIONAL[name](d_model, heads, max_positions)
