"""The Transformer encoder-decoder (Vaswani et al. 2017, pre-norm), behind the RNN model's protocol.

    encoder:  memory = Stack_bidirectional(sqrt(D) E_src[x] (+ positions))                (B, S, D)
    decoder:  p(y_t | y_<t, x) = softmax(W_out Stack_causal+cross(sqrt(D) E_tgt[y_<t] (+ positions), memory))

It plugs into training and evaluation exactly where `attn.nn.model.Seq2Seq` does:
    forward(src, src_len, tgt_in) -> logits (B, T, V), weights (B, T, S) | None
    encode(src, src_len) -> TransformerEncoded (with .repeat(k) for beam search)
    decoder.init_state(enc) -> state;  decoder.step(prev, state, enc) -> logits (B, V), state, weights (B, S)
The decoding state is a key/value cache of the decoder's self-attention, one tensor
(B, layers, 2, heads, t, d) so beam search can stack and index it along the batch like an RNN state.
The weights drawn as the attention map are the last layer's cross-attention averaged over heads;
`attention_maps` returns every layer and head. The decoder-only variant is in transformer_lm.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from attn.config import ModelConfig
from attn.data.text import PAD_ID
from attn.nn.positions import BIDIRECTIONAL, CAUSAL, CROSS, PositionalEncoding, make_positions
from attn.nn.transformer_layers import Context, Stack, attention_mask


@dataclass
class TransformerEncoded:
    """What decoding needs from the source, computed once per batch."""

    memory: torch.Tensor | None   # (B, S, D) encoder output (None for the decoder-only model)
    mask: torch.Tensor            # (B, S) True at real source tokens
    src_len: torch.Tensor         # (B,) source lengths
    kv: torch.Tensor | None       # (B, layers, 2, heads, S, d) cross-attention keys/values per layer
                                  # (decoder-only: the source prefix's self-attention cache; None
                                  # inside a teacher-forced forward, which keeps them per layer)

    def repeat(self, k: int) -> "TransformerEncoded":
        """Each sentence repeated k times along the batch (for beam search)."""
        rep = lambda t: None if t is None else t.repeat_interleave(k, dim=0)
        return TransformerEncoded(rep(self.memory), rep(self.mask), rep(self.src_len), rep(self.kv))


@dataclass
class AttentionMaps:
    """Every layer's attention, per head, for per-head views (lists indexed by layer)."""

    encoder: list[torch.Tensor] = field(default_factory=list)  # (B, heads, S, S); empty for decoder-only
    decoder: list[torch.Tensor] = field(default_factory=list)  # (B, heads, T, T) target over target
    cross: list[torch.Tensor] = field(default_factory=list)    # (B, heads, T, S) target over source
                                                               # (decoder-only: renormalised over the source)

    def weights(self) -> torch.Tensor:
        """The map the pages draw: the last layer's target-over-source attention, mean over heads (B, T, S)."""
        return self.cross[-1].mean(dim=1)


def stack_cache(kv: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Per layer (keys, values) (B, h, L, d) -> one tensor (B, layers, 2, h, L, d)."""
    return torch.stack([torch.stack(pair, dim=1) for pair in kv], dim=1)


def unstack_cache(cache: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(B, layers, 2, h, L, d) -> per layer (keys, values) (B, h, L, d)."""
    return [(cache[:, i, 0], cache[:, i, 1]) for i in range(cache.size(1))]


class Embedding(nn.Module):
    """x_p = Dropout(sqrt(D) E[token_p] + PE(p)), E initialised N(0, 1/D) (Vaswani et al. 2017);
    PE(p) is whatever the encoding adds (nothing for RoPE, ALiBi, T5, NoPE)."""

    def __init__(self, vocab_size: int, d_model: int, positions: PositionalEncoding, dropout: float):
        super().__init__()
        self.table = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        nn.init.normal_(self.table.weight, std=d_model ** -0.5)
        with torch.no_grad():
            self.table.weight[PAD_ID].zero_()
        self.scale = math.sqrt(d_model)
        self.positions = positions
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """ids (B, L), positions (B|1, L) -> (B, L, D)."""
        return self.dropout(self.positions.embed(self.table(ids) * self.scale, positions))


def keep_for(module: nn.Module, need_weights: bool | None) -> str:
    """Which layers' weights to keep: the last one when asked, or by default outside training
    (evaluation draws them; a training step never reads them and the fused kernel is faster)."""
    if need_weights is None:
        need_weights = not module.training
    return "last" if need_weights else "none"


class TransformerEncoder(nn.Module):
    """Embedding + bidirectional self-attention stack; padded keys are masked out."""

    def __init__(self, vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.positions = make_positions(cfg.positions, cfg.hidden, cfg.heads, cfg.max_positions)
        self.embed = Embedding(vocab_size, cfg.hidden, self.positions, cfg.dropout)
        self.stack = Stack(cfg.layers, cfg.hidden, cfg.heads, cfg.ff, cfg.dropout)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, keep: str = "none"):
        """src (B, S), src_len (B,) -> memory (B, S, D), mask (B, S), per layer weights (B, h, S, S)|None."""
        positions = torch.arange(src.size(1), device=src.device)[None]           # (1, S)
        mask = positions < src_len[:, None]                                       # (B, S)
        attn_mask, causal = attention_mask(self.positions, positions, positions, BIDIRECTIONAL, mask)
        memory, _, weights, _ = self.stack(self.embed(src, positions),
                                           Context(self.positions, positions, attn_mask, causal), keep=keep)
        return memory, mask, weights


class TransformerDecoder(nn.Module):
    """Embedding + causal self-attention and cross-attention stack + output layer."""

    def __init__(self, vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.positions = make_positions(cfg.positions, cfg.hidden, cfg.heads, cfg.max_positions)
        self.embed = Embedding(vocab_size, cfg.hidden, self.positions, cfg.dropout)
        self.stack = Stack(cfg.layers, cfg.hidden, cfg.heads, cfg.ff, cfg.dropout, cross=True)
        self.out = nn.Linear(cfg.hidden, vocab_size)
        self.heads, self.head_dim = cfg.heads, cfg.hidden // cfg.heads

    def _run(self, ids, positions, enc: TransformerEncoded, memory_kv, past=None, keep="none"):
        """ids (B, T) at positions (B|1, T) -> logits (B, T, V), new per-layer cache, weights."""
        self_mask, causal = attention_mask(self.positions, positions, self._key_positions(positions, past),
                                           CAUSAL)
        src_positions = torch.arange(enc.mask.size(1), device=ids.device)[None]  # (1, S)
        cross_mask, _ = attention_mask(self.positions, positions, src_positions, CROSS, enc.mask)
        ctx = Context(self.positions, positions, self_mask, causal, cross_mask)
        states, kv, self_w, cross_w = self.stack(self.embed(ids, positions), ctx, past, memory_kv, keep)
        return self.out(states), kv, self_w, cross_w

    @staticmethod
    def _key_positions(positions: torch.Tensor, past) -> torch.Tensor:
        """Positions of every key: the cached ones 0..t-1, then the new tokens'."""
        if past is None:
            return positions
        cached = torch.arange(past[0][0].size(2), device=positions.device)[None]
        return torch.cat([cached.expand(positions.size(0), -1), positions], dim=1)

    def forward(self, tgt_in: torch.Tensor, enc: TransformerEncoded, memory_kv, keep: str = "none"):
        """Teacher forcing: tgt_in (B, T) -> logits (B, T, V), self and cross weights per layer."""
        positions = torch.arange(tgt_in.size(1), device=tgt_in.device)[None]      # (1, T)
        logits, _, self_w, cross_w = self._run(tgt_in, positions, enc, memory_kv, keep=keep)
        return logits, self_w, cross_w

    def init_state(self, enc: TransformerEncoded) -> torch.Tensor:
        """An empty self-attention cache (B, layers, 2, heads, 0, d)."""
        B, layers = enc.mask.size(0), len(self.stack.blocks)
        return enc.kv.new_zeros(B, layers, 2, self.heads, 0, self.head_dim)

    def step(self, prev: torch.Tensor, state: torch.Tensor, enc: TransformerEncoded):
        """prev (B,), cache (B, layers, 2, h, t, d) -> logits (B, V), cache with t + 1, weights (B, S)."""
        positions = torch.full((prev.size(0), 1), state.size(-2), dtype=torch.long, device=prev.device)
        logits, kv, _, cross_w = self._run(prev[:, None], positions, enc, unstack_cache(enc.kv),
                                           past=unstack_cache(state), keep="last")
        return logits[:, 0], stack_cache(kv), cross_w[-1].mean(dim=1)[:, 0]


class TeacherForced(nn.Module):
    """What both Transformers share: forward and attention_maps over the subclass's `_run(src, src_len,
    tgt_in, keep) -> (logits (B, T, V), AttentionMaps)`."""

    def _run(self, src, src_len, tgt_in, keep: str):
        raise NotImplementedError

    def forward(self, src, src_len, tgt_in, teacher_forcing: float = 1.0, need_weights: bool | None = None):
        """src (B, S), src_len (B,), tgt_in (B, T) -> logits of the target positions (B, T, V),
        weights (B, T, S) | None: the last layer's attention of the target rows over the source, mean
        over heads (AttentionMaps.weights); by default only outside training."""
        check_teacher_forcing(teacher_forcing)
        keep = keep_for(self, need_weights)
        logits, maps = self._run(src, src_len, tgt_in, keep)
        return logits, maps.weights() if keep != "none" else None

    @torch.no_grad()
    def attention_maps(self, src, src_len, tgt_in) -> AttentionMaps:
        """Every layer's and head's attention under teacher forcing (see AttentionMaps)."""
        return self._run(src, src_len, tgt_in, "all")[1]


class Transformer(TeacherForced):
    """The encoder-decoder Transformer with one of the positional encodings (cfg.positions)."""

    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.encoder = TransformerEncoder(src_vocab_size, cfg)
        self.decoder = TransformerDecoder(tgt_vocab_size, cfg)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> TransformerEncoded:
        memory, mask, _ = self.encoder(src, src_len)
        kv = stack_cache(self.decoder.stack.memory_kv(memory))                   # (B, layers, 2, h, S, d)
        return TransformerEncoded(memory, mask, src_len, kv)

    def _run(self, src, src_len, tgt_in, keep: str):
        memory, mask, enc_w = self.encoder(src, src_len, keep="all" if keep == "all" else "none")
        memory_kv = self.decoder.stack.memory_kv(memory)                          # once per batch
        enc = TransformerEncoded(memory, mask, src_len, kv=None)
        logits, self_w, cross_w = self.decoder(tgt_in, enc, memory_kv, keep)
        return logits, AttentionMaps(enc_w, self_w, cross_w)


def check_teacher_forcing(teacher_forcing: float) -> None:
    if teacher_forcing < 1.0:
        raise ValueError(f"teacher_forcing = {teacher_forcing}: the Transformer reads the whole gold prefix "
                         "at once and cannot feed its own guesses; use train.teacher_forcing = 1.0")
