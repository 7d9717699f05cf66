"""Scaled dot-product attention on a toy example, in NumPy, for the Playground page.

The softmax over the keys is the models' own masked softmax (attn.nn.attention), so the page shows
the rule the models follow, not a copy of it.

Three queries attend over five keys (d_k = 4) and mix five values (d_v = 6), as in the course notes.
`softmax_entropy_by_dim` shows why the scores are divided by sqrt(d_k): without it the softmax
saturates (one key takes all the weight) as the dimension grows.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd


def draw_qkv(seed: int = 0, n_q: int = 3, n_k: int = 5, d_k: int = 4,
             d_v: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v) drawn from a standard normal, in that order."""
    for name, value in (("n_q", n_q), ("n_k", n_k), ("d_k", d_k), ("d_v", d_v)):
        if value < 1:
            raise ValueError(f"draw_qkv: {name} must be at least 1, got {value}")
    rng = np.random.default_rng(seed)
    queries = rng.standard_normal((n_q, d_k))
    keys = rng.standard_normal((n_k, d_k))
    values = rng.standard_normal((n_k, d_v))
    return queries, keys, values


class AttentionResult(NamedTuple):
    """What `attention` returns; unpacks as (weights, output, scores, empty_rows)."""

    weights: np.ndarray     # (n_q, n_k) rows sum to 1; masked keys 0, an all-masked row uniform
    output: np.ndarray      # (n_q, d_v) weights @ V
    scores: np.ndarray      # (n_q, n_k) QK^T (/ sqrt(d_k) when scaled), before masking
    empty_rows: np.ndarray  # (n_q,) True for queries whose keys were all masked


def attention(Q, K, V, mask=None, scaled: bool = True) -> AttentionResult:
    """softmax(Q K^T / sqrt(d_k)) V  -- scaled dot-product attention (Vaswani et al. 2017, eq. 1).

    Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v); mask: boolean (n_q, n_k) (or anything broadcasting to
    it), True where a query may look at a key. `scaled=False` drops the 1/sqrt(d_k) factor.

    The softmax is the models' own `attn.nn.attention.masked_softmax`, so the Playground draws what
    the models compute, under the lab's one masking rule: a masked key gets weight exactly 0, and a
    query whose keys are ALL masked (an all-padding row) gets uniform weights over all keys -- finite,
    never NaN, its output the mean of V -- because its scores are all the same large finite negative.
    A trained model never meets such a row (every sentence has a token), so the rule costs it nothing;
    `result.empty_rows` flags those queries, whose weights stand for nothing.
    """
    from attn.nn.attention import masked_softmax  # imports torch; the rest of this module does not
    import torch

    Q, K, V = (np.asarray(m, dtype=np.float64) for m in (Q, K, V))
    if Q.ndim != 2 or K.ndim != 2 or V.ndim != 2:
        raise ValueError(f"attention: Q, K, V must be 2-D, got shapes {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"attention: Q (n_q, d_k) and K (n_k, d_k) need the same d_k, got {Q.shape} and {K.shape}")
    if K.shape[0] != V.shape[0]:
        raise ValueError(f"attention: K and V need one row per key, got {K.shape} and {V.shape}")
    d_k = Q.shape[1]
    scores = Q @ K.T                                                    # (n_q, n_k)
    if scaled:
        scores = scores / math.sqrt(d_k)
    if mask is None:
        allowed = np.ones(scores.shape, dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise ValueError(f"attention: mask must be boolean (True = may attend), got dtype {mask.dtype}")
        try:
            allowed = np.array(np.broadcast_to(mask, scores.shape))     # (n_q, n_k), a writable copy
        except ValueError:
            raise ValueError(f"attention: mask of shape {mask.shape} does not fit the scores "
                             f"(n_q, n_k) = {scores.shape}") from None
    # masked_softmax takes scores (B, T, S) and a key mask (B, S): each query is its own batch row,
    # so each query gets its own mask.
    weights = masked_softmax(torch.from_numpy(scores)[:, None, :],      # (n_q, 1, n_k)
                             torch.from_numpy(allowed))[:, 0, :].numpy()  # (n_q, n_k)
    output = weights @ V                                                # (n_q, d_v)
    return AttentionResult(weights, output, scores, ~allowed.any(axis=-1))


def _entropy(scores: np.ndarray) -> np.ndarray:
    """Entropy in nats of softmax(scores) over the last axis, via log-softmax (no log 0)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -(np.exp(log_p) * log_p).sum(axis=-1)


def softmax_entropy_by_dim(dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256, 512), n_keys: int = 10,
                           samples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Mean entropy of softmax(q.k) over `n_keys` random keys, with and without the 1/sqrt(d).

    q and k are standard normal, so q.k has variance d: unscaled, the scores spread out as d grows,
    the softmax puts nearly all weight on one key and the entropy falls towards 0 (and its gradient
    vanishes). Divided by sqrt(d) the scores keep variance 1 and the entropy stays at the same level
    a little under log(n_keys), the entropy of a uniform choice.

    Returns one row per (d, scaled): d, scaled (bool), entropy (nats, mean over samples), n_keys.
    """
    if n_keys < 2 or samples < 1:
        raise ValueError(f"softmax_entropy_by_dim: need n_keys >= 2 and samples >= 1, got {n_keys}, {samples}")
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        if d < 1:
            raise ValueError(f"softmax_entropy_by_dim: every dimension must be >= 1, got {d}")
        queries = rng.standard_normal((samples, 1, d))
        keys = rng.standard_normal((samples, n_keys, d))
        scores = (queries * keys).sum(axis=-1)                                 # (samples, n_keys)
        for scaled in (True, False):
            s = scores / math.sqrt(d) if scaled else scores
            rows.append({"d": int(d), "scaled": scaled, "entropy": float(_entropy(s).mean()),
                         "n_keys": n_keys})
    return pd.DataFrame(rows)
