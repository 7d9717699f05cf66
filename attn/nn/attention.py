"""The attention variants behind one interface, found by name in a registry.

Every variant scores a query against the projected encoder states ("memory") in two phases:
    keys    = prepare(memory)                   once per batch   (B, S, H)
    weights = forward(query, keys, mask)        every step       (B, T, S)
where query is the decoder state(s) (B, T, H) -- T = 1 for a step-by-step decoder, T = all target
steps for a Luong decoder under teacher forcing -- and mask (B, S) is True at real source tokens.
The decoder forms the context as weights @ memory and never knows which variant it holds.
`none` is not here: it has no weights (its context is the encoder's summary vector), see model.py.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from attn.nn import fused


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax over S of scores (B, T, S) with padding (mask False) given zero weight.

    A large finite negative instead of -inf keeps an all-padding row finite (uniform, not NaN).
    """
    scores = scores.masked_fill(~mask[:, None, :], torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1)


class Attention(nn.Module):
    """Base class: subclasses implement `prepare` (per batch) and `score` (per step)."""

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """Work that depends only on the encoder: done once per batch, not once per step."""
        return memory

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """query (B, T, H), keys (B, S, H), mask (B, S) -> weights (B, T, S), rows sum to 1."""
        return masked_softmax(self.score(query, keys), mask)


class AdditiveAttention(Attention):
    """score(s, h_j) = v^T tanh(W s + U h_j)   (Bahdanau, Cho & Bengio 2015)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.query_proj = nn.Linear(hidden, hidden, bias=False)  # W
        self.key_proj = nn.Linear(hidden, hidden, bias=True)     # U (its bias plays the role of b)
        self.v = nn.Linear(hidden, 1, bias=False)                # v

    def prepare(self, memory):
        return self.key_proj(memory)                              # (B, S, H): U h_j, once per batch

    # Elements of the (b, T, S, H) tanh tensor computed at once. Keeping it cache-sized rather than
    # materialising the whole batch's (B, T, S, H) tensor made training ~1.5x faster on a laptop CPU.
    chunk_elements = 1 << 19

    def score(self, query, keys):
        q = self.query_proj(query)                                # (B, T, H)
        if fused.usable_for(q, keys):
            return fused.additive_scores(q, keys, self.v.weight)  # the same formula in one C pass
        return self.reference_score(q, keys)

    def reference_score(self, q, keys):
        """v^T tanh(q + k) with PyTorch ops: the fallback, and the reference the C kernel is tested against."""
        B, T, H = q.shape
        rows = max(1, self.chunk_elements // max(1, T * keys.size(1) * H))
        parts = [self.v(torch.tanh(q[b:b + rows, :, None, :] + keys[b:b + rows, None, :, :])).squeeze(-1)
                 for b in range(0, B, rows)]                      # each (b, T, S)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)  # (B, T, S)


class DotAttention(Attention):
    """score(s, h_j) = s^T h_j, or s^T h_j / sqrt(d) when scaled   (Luong et al. 2015; Vaswani et al. 2017)."""

    def __init__(self, hidden: int, scaled: bool = True):
        super().__init__()
        self.scale = 1.0 / math.sqrt(hidden) if scaled else 1.0

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2)) * self.scale  # (B, T, S)


class GeneralAttention(Attention):
    """score(s, h_j) = s^T W h_j   (Luong et al. 2015, "general"); W h_j is computed once per batch."""

    def __init__(self, hidden: int):
        super().__init__()
        self.W = nn.Linear(hidden, hidden, bias=False)

    def prepare(self, memory):
        return self.W(memory)                                     # (B, S, H)

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2))             # (B, T, S)


ATTENTION: dict[str, type[Attention]] = {
    "additive": AdditiveAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
}


def make_attention(variant: str, hidden: int, scaled: bool = True) -> Attention | None:
    """The module for `variant`, or None for `none` (no attention: a fixed context)."""
    if variant == "none":
        return None
    if variant not in ATTENTION:
        raise ValueError(f"unknown attention variant {variant!r}; valid: none, {', '.join(ATTENTION)}")
    if variant == "dot":
        return DotAttention(hidden, scaled=scaled)
    return ATTENTION[variant](hidden)
