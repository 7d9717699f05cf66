"""The decoder-only Transformer: source, separator and target in one causal sequence.

    sequence_b = x_1 .. x_{S_b}  <s>  y_1 .. y_n        (<s>, the target's first input, is the separator)
    p(y_t | y_<t, x) = softmax(W_out Stack_causal(sqrt(D) E[sequence] (+ positions))_{S_b + t})

as in Kazemnejad et al. 2023 ("The Impact of Positional Encoding on Length Generalization in
Transformers", arXiv 2305.19466): one stack of causal self-attention reads the source as a prefix, and
the loss is taken on the target part only -- the logits returned are those of the T target positions
(B, T, V), so nothing on the source side can enter the loss. Each row is packed: its own source, then
its target, then padding, so a row's positions do not depend on how far the batch is padded (and,
because padding always follows the real tokens, the causal mask alone keeps it out). Source and
target words have separate rows in one embedding table (target ids shifted by the source vocabulary).

Decoding keeps the RNN protocol: encode() runs the source prefix and returns its self-attention
keys/values; the state is that cache (B, layers, 2, heads, S + t, d), growing by one per step.
The map drawn for it is the last layer's attention of the target rows over the source columns,
renormalised over the source, then averaged over heads.
"""
from __future__ import annotations

import torch
from torch import nn

from attn.config import ModelConfig
from attn.nn.positions import CAUSAL, make_positions
from attn.nn.transformer import (AttentionMaps, Embedding, TeacherForced, TransformerEncoded, stack_cache,
                                 unstack_cache)
from attn.nn.transformer_layers import Context, Stack, attention_mask


def pack(src, src_len, tgt_in, offset: int):
    """src (B, S), tgt_in (B, T) -> ids (B, S + T), row b = src_b[:len_b], tgt_in_b + offset, padding;
    and target_index (B, T) = len_b + t, where row b's t-th target input sits."""
    S, T = src.size(1), tgt_in.size(1)
    joined = torch.cat([src, tgt_in + offset], dim=1)                            # (B, S + T)
    p = torch.arange(S + T, device=src.device)[None]                              # (1, S + T)
    n = src_len[:, None]                                                          # (B, 1)
    index = torch.where(p < n, p, torch.where(p < n + T, S + p - n, p - T))       # a permutation per row
    target_index = n + torch.arange(T, device=src.device)[None]                   # (B, T)
    return joined.gather(1, index), target_index


def source_share(weights: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
    """weights (B, h, T, K) over a sequence whose first S columns hold the source slots, src_mask (B, S)
    -> (B, h, T, S): the weight on each real source word, renormalised to sum to 1 over the source."""
    on_source = weights[..., :src_mask.size(1)] * src_mask[:, None, None, :]
    return on_source / on_source.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny)


class CausalDecoder(nn.Module):
    """Embedding (source + target words) + causal self-attention stack + output layer (target words)."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.offset = src_vocab_size
        self.positions = make_positions(cfg.positions, cfg.hidden, cfg.heads, cfg.max_positions)
        self.embed = Embedding(src_vocab_size + tgt_vocab_size, cfg.hidden, self.positions, cfg.dropout)
        self.stack = Stack(cfg.layers, cfg.hidden, cfg.heads, cfg.ff, cfg.dropout)
        self.out = nn.Linear(cfg.hidden, tgt_vocab_size)

    def run(self, ids, positions, k_positions, key_mask=None, past=None, keep="none"):
        """ids (B, L) at positions (B|1, L), keys at k_positions -> states (B, L, D), cache, weights."""
        mask, causal = attention_mask(self.positions, positions, k_positions, CAUSAL, key_mask)
        states, kv, weights, _ = self.stack(self.embed(ids, positions),
                                            Context(self.positions, positions, mask, causal), past, keep=keep)
        return states, kv, weights

    def init_state(self, enc: TransformerEncoded) -> torch.Tensor:
        """The source prefix's cache (B, layers, 2, heads, S, d); decoding appends to it."""
        return enc.kv

    def step(self, prev: torch.Tensor, state: torch.Tensor, enc: TransformerEncoded):
        """prev (B,), cache (B, layers, 2, h, S + t, d) -> logits (B, V), cache (.., S + t + 1, d), weights (B, S).

        Row b's new token sits at position len_b + t; its source slots past len_b are padding, masked."""
        B, S = enc.mask.shape
        t = state.size(-2) - S
        steps = torch.arange(t + 1, device=prev.device)[None]                     # (1, t + 1)
        position = enc.src_len[:, None] + t                                       # (B, 1)
        k_positions = torch.cat([torch.arange(S, device=prev.device)[None].expand(B, S),
                                 enc.src_len[:, None] + steps], dim=1)            # (B, S + t + 1)
        key_mask = torch.cat([enc.mask, torch.ones(B, t + 1, dtype=torch.bool, device=prev.device)], dim=1)
        states, kv, weights = self.run(prev[:, None] + self.offset, position, k_positions, key_mask,
                                       past=unstack_cache(state), keep="last")
        attention = source_share(weights[-1], enc.mask).mean(dim=1)[:, 0]        # (B, S)
        return self.out(states[:, 0]), stack_cache(kv), attention


class DecoderOnlyTransformer(TeacherForced):
    """A causal Transformer over [source; <s>; target], scored on the target only."""

    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.decoder = CausalDecoder(src_vocab_size, tgt_vocab_size, cfg)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> TransformerEncoded:
        """Run the source prefix once; its keys/values are the decoding cache's start."""
        positions = torch.arange(src.size(1), device=src.device)[None]            # (1, S)
        mask = positions < src_len[:, None]                                       # (B, S)
        _, kv, _ = self.decoder.run(src, positions, positions)  # padding follows each row's source
        return TransformerEncoded(None, mask, src_len, stack_cache(kv))

    def _run(self, src, src_len, tgt_in, keep: str):
        ids, target_index = pack(src, src_len, tgt_in, self.decoder.offset)       # (B, L), (B, T)
        positions = torch.arange(ids.size(1), device=src.device)[None]            # (1, L)
        states, _, weights = self.decoder.run(ids, positions, positions, keep=keep)
        D = states.size(-1)
        target_states = states.gather(1, target_index[..., None].expand(-1, -1, D))  # (B, T, D)
        logits = self.decoder.out(target_states)                                  # (B, T, V): targets only
        maps = AttentionMaps()
        src_mask = torch.arange(src.size(1), device=src.device)[None] < src_len[:, None]
        for w in weights:
            if w is None:
                continue
            rows = w.gather(2, target_index[:, None, :, None].expand(-1, w.size(1), -1, w.size(-1)))
            maps.cross.append(source_share(rows, src_mask))                       # (B, h, T, S)
            maps.decoder.append(rows.gather(3, target_index[:, None, None, :].expand(-1, w.size(1),
                                                                                     rows.size(2), -1)))
        return logits, maps
