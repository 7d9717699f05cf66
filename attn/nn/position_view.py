"""What each positional encoding adds to one query's attention scores, for the Playground's panel.

A query sits at position i; the keys at positions j = 0..N. Each function below returns, per head,
the term the encoding contributes to score(i, j), computed with the models' own modules
(attn.nn.positions), so the panel draws what the models compute:

    alibi        -m_h |i - j|                       a fixed line per head (Press et al. 2022)
    t5           b_h[bucket(j - i)]                 a learned scalar per bucket; fresh: the bucket index
    rope         rot(q, i) . rot(k, j), q = k       depends on i - j only (Su et al. 2021)
    sinusoidal   p_i . p_j                          depends on i - j only (Vaswani et al. 2017)
    learned      P[i] . P[j]                        missing where i or j has no row (j >= max_positions)
    none         0                                  NoPE: no term at all

In causal mode (a decoder's self-attention) keys after the query (j > i) are masked: their value is
NaN, as is every value an encoding does not have.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from attn.nn.positions import (BIDIRECTIONAL, CAUSAL, ALiBi, Learned, PositionalEncoding, Rotary, Sinusoidal,
                               T5Bias, t5_bucket)

ENCODINGS = ("sinusoidal", "learned", "rope", "alibi", "t5", "none")  # attn.nn.positions.POSITIONAL's order
MODES = (CAUSAL, BIDIRECTIONAL)
# What each panel's value is, as its y-axis says it.
QUANTITY = {"sinusoidal": "p_i · p_j", "learned": "P[i] · P[j]", "rope": "q_i · k_j (q = k)",
            "alibi": "bias −m·|i−j|", "t5": "bias b[bucket(j−i)]", "t5 buckets": "bucket of j−i", "none": "position term"}


def _positions(last_key: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Key positions 0..last_key as (1, N+1) and the range check every function shares."""
    if last_key < 0:
        raise ValueError(f"last_key must be >= 0, got {last_key}")
    return torch.arange(last_key + 1)[None], torch.arange(last_key + 1)


def _masked(values: np.ndarray, query: int, mode: str) -> np.ndarray:
    """values (heads, N+1) with keys after the query set to NaN in causal mode (the mask removes them)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    values = np.array(values, dtype=np.float64) + 0.0  # + 0.0: -0.0 (ALiBi at j = i) reads 0
    if mode == CAUSAL:
        values[:, query + 1:] = np.nan
    return values


def alibi_bias(query: int, last_key: int, heads: int, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """-m_h |i - j| for head h (slopes m_h = 2^(-8h/n), attn.nn.positions.alibi_slopes) -> (heads, N+1).

    The models' ALiBi module computes it: causal keys (j <= i) get -m_h (i - j), the same number."""
    keys, _ = _positions(last_key)
    bias = ALiBi(heads, heads, 1).bias(torch.tensor([[query]]), keys, mode)   # (1, heads, 1, N+1)
    return _masked(bias[0, :, 0].numpy(), query, mode)


def t5_buckets(query: int, last_key: int, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """bucket(j - i) of each key (attn.nn.positions.t5_bucket, T5's 32 buckets up to distance 128) -> (1, N+1).

    Distances under 8 (causal: 16) get a bucket each, longer ones share logarithmic buckets, and every
    distance past 128 shares the last one."""
    _, keys = _positions(last_key)
    buckets = t5_bucket(keys - query, mode == BIDIRECTIONAL, T5Bias.num_buckets, T5Bias.max_distance)
    return _masked(buckets[None].numpy(), query, mode)


def t5_bias(query: int, last_key: int, table: torch.Tensor, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """b_h[bucket(j - i)] with `table` a trained (buckets, heads) T5 table -> (heads, N+1)."""
    module = T5Bias(table.size(1), table.size(1), 1)
    with torch.no_grad():
        module.table.weight.copy_(table)
        keys, _ = _positions(last_key)
        bias = module.bias(torch.tensor([[query]]), keys, mode)               # (1, heads, 1, N+1)
    return _masked(bias[0, :, 0].numpy(), query, mode)


def rope_score(query: int, last_key: int, head_dim: int, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """rot(q, i) . rot(k, j) with q = k = (1, ..., 1)/sqrt(d) -> (1, N+1).

    Each pair of dimensions turns by (i - j) theta_m, so the score is (2/d) sum_m cos((i - j) theta_m),
    theta_m = 10000^(-2m/d): 1 at j = i, a function of i - j only, its envelope shrinking with distance."""
    if head_dim < 2 or head_dim % 2:
        raise ValueError(f"head_dim must be an even number >= 2 (RoPE turns pairs), got {head_dim}")
    keys, _ = _positions(last_key)
    rotary = Rotary(head_dim, 1, 1)
    vector = torch.ones(1, 1, 1, head_dim, dtype=torch.float64) / math.sqrt(head_dim)   # (B, heads, L, d)
    q = rotary.rotate(vector, torch.tensor([[query]]))                                  # (1, 1, 1, d)
    k = rotary.rotate(vector.expand(1, 1, last_key + 1, head_dim), keys)                # (1, 1, N+1, d)
    return _masked((k[0, 0] @ q[0, 0, 0])[None].numpy(), query, mode)


def sinusoidal_dot(query: int, last_key: int, d_model: int, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """p_i . p_j of the sinusoidal position vectors = sum_m cos((i - j) omega_m) -> (1, N+1).

    sin a sin b + cos a cos b = cos(a - b): a function of i - j only, largest (D/2) at j = i."""
    if d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be an even number >= 2 (sin/cos pairs), got {d_model}")
    keys, _ = _positions(last_key)
    table = Sinusoidal(d_model, 1, 1).embed(torch.zeros(1, last_key + 1, d_model, dtype=torch.float64), keys)
    p_i = Sinusoidal(d_model, 1, 1).embed(torch.zeros(1, 1, d_model, dtype=torch.float64), torch.tensor([[query]]))
    return _masked((table[0] @ p_i[0, 0])[None].numpy(), query, mode)


def learned_dot(query: int, last_key: int, table: torch.Tensor, mode: str = BIDIRECTIONAL) -> np.ndarray:
    """P[i] . P[j] of a learned (max_positions, D) table -> (1, N+1); NaN where i or j has no row.

    A position >= max_positions has no row of its own (the model clamps it to the last row, so every
    later position looks alike); the panel draws it as missing rather than as that last row."""
    _, keys = _positions(last_key)
    rows = table.size(0)
    values = np.full((1, last_key + 1), np.nan)
    if query < rows:
        seen = keys[keys < rows]
        values[0, :len(seen)] = (table[seen].double() @ table[query].double()).detach().numpy()
    return _masked(values, query, mode)


def fresh_learned_table(max_positions: int, d_model: int, seed: int = 0) -> torch.Tensor:
    """The (max_positions, D) table a new model starts with (attn.nn.positions.Learned's init), from a seed."""
    torch.manual_seed(seed)
    return Learned(d_model, 1, max_positions).table.weight.detach().clone()


def trained_tables(model: torch.nn.Module, mode: str) -> dict[str, torch.Tensor]:
    """A trained model's learned position tables: {"learned": (max_positions, D)} or {"t5": (buckets, heads)}.

    An encoder-decoder has one encoding per stack: the encoder's answers BIDIRECTIONAL, the decoder's
    CAUSAL. A decoder-only model has one (causal) encoding."""
    found = {name: module for name, module in model.named_modules() if isinstance(module, PositionalEncoding)}
    wanted = "encoder" if mode == BIDIRECTIONAL else "decoder"
    chosen = [m for name, m in found.items() if name.startswith(wanted)] or list(found.values())[:1]
    tables = {}
    for module in chosen[:1]:
        if isinstance(module, Learned):
            tables["learned"] = module.table.weight.detach().clone()
        elif isinstance(module, T5Bias):
            tables["t5"] = module.table.weight.detach().clone()
    return tables


def position_effects(query: int, last_key: int, *, d_model: int = 64, heads: int = 4, max_positions: int = 32,
                     mode: str = BIDIRECTIONAL, tables: dict[str, torch.Tensor] | None = None,
                     seed: int = 0) -> pd.DataFrame:
    """Every encoding's term in score(query, j) for j = 0..last_key, as one tidy frame.

    Columns: encoding, quantity (what the value is), head (1-based; 0 for a single curve), key (j),
    value (NaN: masked or no such row), trained (bool: drawn from a stored run's table).
    `tables` holds trained tables by encoding ("learned", "t5"); without one, learned uses a fresh table
    of `max_positions` rows from `seed`, and t5 shows its bucket index (a fresh T5 table is all zeros).
    """
    if not 0 <= query <= last_key:
        raise ValueError(f"the query position must lie among the keys 0..{last_key}, got {query}")
    if heads < 1 or d_model % heads:
        raise ValueError(f"heads = {heads} must be >= 1 and divide d_model = {d_model}")
    tables = tables or {}
    learned = tables.get("learned")
    learned = fresh_learned_table(max_positions, d_model, seed) if learned is None else learned
    curves = {"sinusoidal": ("sinusoidal", sinusoidal_dot(query, last_key, d_model, mode)),
              "learned": ("learned", learned_dot(query, last_key, learned, mode)),
              "rope": ("rope", rope_score(query, last_key, d_model // heads, mode)),
              "alibi": ("alibi", alibi_bias(query, last_key, heads, mode)),
              "t5": (("t5", t5_bias(query, last_key, tables["t5"], mode)) if "t5" in tables
                     else ("t5 buckets", t5_buckets(query, last_key, mode))),
              "none": ("none", _masked(np.zeros((1, last_key + 1)), query, mode))}
    frames = []
    for encoding, (quantity, values) in curves.items():
        n_heads, n_keys = values.shape
        frames.append(pd.DataFrame({
            "encoding": encoding, "quantity": QUANTITY[quantity],
            "head": np.repeat(np.arange(1, n_heads + 1) if n_heads > 1 else [0], n_keys),
            "key": np.tile(np.arange(n_keys), n_heads), "value": values.ravel(),
            "trained": encoding in tables}))
    return pd.concat(frames, ignore_index=True)
