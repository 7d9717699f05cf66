"""The Transformer's parts: multi-head attention, the pre-norm block, a stack of blocks, the masks.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V         (Vaswani et al. 2017)
    pre-norm block:  x = x + Dropout(SelfAttn(LN(x)))
                     x = x + Dropout(CrossAttn(LN(x), memory))   (decoder of the encoder-decoder only)
                     x = x + Dropout(FF(LN(x))),  FF(x) = W_2 ReLU(W_1 x)
    stack:           LN(block_N(... block_1(x)))                  (Xiong et al. 2020: pre-norm, final LN)

M carries everything added to or removed from the scores: the positional bias (ALiBi, T5), padding
and causality. It is built once per stack call (`attention_mask`) and shared by every layer. The
attention runs in torch's fused scaled_dot_product_attention unless its weights are asked for (the
fused kernel does not return them): then the same equation runs with plain ops and keeps them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from attn.nn.positions import CAUSAL, PositionalEncoding


def attention_mask(pe: PositionalEncoding, q_positions: torch.Tensor, k_positions: torch.Tensor, mode: str,
                   key_mask: torch.Tensor | None = None):
    """-> (mask, is_causal) for the scores of queries at q_positions (B|1, T) over keys at
    k_positions (B|1, S); key_mask (B, S) is True at real keys.

    mask is None (is_causal may then ask for the triangular mask of aligned T == S positions), a bool
    (B|1, 1, 1|T, S) True where a key may be seen, or a float (B|1, heads, T, S) bias with the keys
    that may not be seen at finfo.min. A single causal query (T == 1) is the newest token of a
    cache, so every real key is at or before it and no triangle is needed.
    """
    bias = pe.bias(q_positions, k_positions, mode)                             # (B|1, heads, T, S) | None
    causal = mode == CAUSAL and q_positions.size(-1) > 1
    if bias is None and key_mask is None:
        return None, causal
    blocked = None
    if causal:
        blocked = (k_positions[:, None, :] > q_positions[:, :, None])[:, None]  # (B|1, 1, T, S)
    if key_mask is not None:
        padding = ~key_mask[:, None, None, :]                                   # (B, 1, 1, S)
        blocked = padding if blocked is None else blocked | padding
    if bias is None:
        return ~blocked, False
    return (bias if blocked is None else bias.masked_fill(blocked, torch.finfo(bias.dtype).min)), False


def attend(q, k, v, mask, is_causal: bool, dropout: float, need_weights: bool):
    """q (B, h, T, d), k and v (B, h, S, d) -> out (B, h, T, d), weights (B, h, T, S) | None."""
    if not need_weights:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                              is_causal=is_causal), None
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))                  # (B, h, T, S)
    if is_causal:
        mask = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool, device=q.device).tril()
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    elif mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    return F.dropout(weights, dropout) @ v, weights


class MultiHeadAttention(nn.Module):
    """MultiHead(x, y) = [head_1; ...; head_h] W_O,  head_i = Attention(x W_Q^i, y W_K^i, y W_V^i).

    Self-attention (`cross=False`) projects Q, K, V from x in one matmul; queries and keys are
    rotated by the encoding (RoPE; a no-op for the others). Cross-attention projects K, V of the
    memory once per batch (`memory_kv`) and takes them as `kv`.
    """

    def __init__(self, d_model: int, heads: int, dropout: float, cross: bool = False):
        super().__init__()
        self.heads, self.head_dim, self.dropout = heads, d_model // heads, dropout
        if cross:
            self.query = nn.Linear(d_model, d_model)
            self.key_value = nn.Linear(d_model, 2 * d_model)
        else:
            self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """memory (B, S, D) -> keys, values (B, h, S, d), computed once per batch."""
        B, S, _ = memory.shape
        k, v = self.key_value(memory).view(B, S, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(self, x, mask, is_causal: bool, pe: PositionalEncoding | None = None,
                positions: torch.Tensor | None = None, past=None, kv=None, need_weights: bool = False):
        """x (B, T, D) -> out (B, T, D), weights (B, h, T, S) | None, (keys, values) (B, h, S, d).

        Self-attention: past is the (keys, values) of earlier positions (a decoding cache) or None;
        the returned keys and values include x's. Cross-attention: kv = memory_kv(memory).
        """
        B, T, D = x.shape
        if kv is None:
            q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k = pe.rotate(q, positions), pe.rotate(k, positions)             # (B, h, T, d)
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, h, S, d)
        else:
            q = self.query(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)
            k, v = kv
        dropout = self.dropout if self.training else 0.0
        out, weights = attend(q, k, v, mask, is_causal, dropout, need_weights)
        return self.out(out.transpose(1, 2).reshape(B, T, D)), weights, (k, v)


@dataclass
class Context:
    """What every layer of one stack call shares: the encoding, the query positions, the masks."""

    pe: PositionalEncoding
    positions: torch.Tensor                     # (B|1, T) positions of the stack's input tokens
    mask: torch.Tensor | None                   # self-attention mask (see attention_mask)
    is_causal: bool = False
    cross_mask: torch.Tensor | None = None      # cross-attention mask, e.g. (B, 1, 1, S) real source keys


class Block(nn.Module):
    """One pre-norm layer: self-attention, cross-attention (if `cross`), feed-forward."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float, cross: bool = False):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = MultiHeadAttention(d_model, heads, dropout)
        self.cross_norm = nn.LayerNorm(d_model) if cross else None
        self.cross_attention = MultiHeadAttention(d_model, heads, dropout, cross=True) if cross else None
        self.ff_norm = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, ctx: Context, past=None, memory_kv=None, need_weights: bool = False):
        """x (B, T, D) -> x (B, T, D), self weights, cross weights ((B, h, T, .) | None), (keys, values)."""
        h, self_w, kv = self.self_attention(self.self_norm(x), ctx.mask, ctx.is_causal, ctx.pe, ctx.positions,
                                            past=past, need_weights=need_weights)
        x = x + self.dropout(h)
        cross_w = None
        if self.cross_attention is not None:
            h, cross_w, _ = self.cross_attention(self.cross_norm(x), ctx.cross_mask, False, kv=memory_kv,
                                                 need_weights=need_weights)
            x = x + self.dropout(h)
        return x + self.dropout(self.ff(self.ff_norm(x))), self_w, cross_w, kv


class Stack(nn.Module):
    """N blocks and the final LayerNorm of a pre-norm Transformer."""

    def __init__(self, layers: int, d_model: int, heads: int, ff: int, dropout: float, cross: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(Block(d_model, heads, ff, dropout, cross) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)

    def memory_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Cross-attention keys and values of every block, (B, h, S, d) each, once per batch."""
        return [block.cross_attention.memory_kv(memory) for block in self.blocks]

    def forward(self, x, ctx: Context, past=None, memory_kv=None, keep: str = "none"):
        """x (B, T, D) -> LN(x) (B, T, D), a list per layer of (keys, values), self and cross weights.

        past: per layer (keys, values) of earlier positions, or None. keep: "none", "last" or "all"
        layers' attention weights (B, h, T, S), None elsewhere; the others run the fused kernel.
        """
        new_kv, self_ws, cross_ws = [], [], []
        for i, block in enumerate(self.blocks):
            need = keep == "all" or (keep == "last" and i == len(self.blocks) - 1)
            x, self_w, cross_w, kv = block(x, ctx, None if past is None else past[i],
                                           None if memory_kv is None else memory_kv[i], need)
            new_kv.append(kv)
            self_ws.append(self_w)
            cross_ws.append(cross_w)
        return self.norm(x), new_kv, self_ws, cross_ws
