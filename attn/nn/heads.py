"""Every head of every layer of a Transformer, for one sentence, and a summary per head.

    HeadMaps      encoder self- (S, S), decoder self- (T, T) and cross-attention (T, S) of each layer and
                  head, cropped to the sentence's real tokens, as float32 numpy arrays
                  (layers, heads, rows, cols); read under teacher forcing (attention_maps, keep="all")
    entropy       H_i = -sum_j a_ij log a_ij (0 log 0 = 0), mean over the rows i           (nats)
    distance      D_i = sum_j a_ij |i - j|, mean over the rows i                            (positions)

A head that always looks at one word has entropy 0; one spread evenly over n words has log n. A
distance of 0 on self-attention is a head that looks at its own position; a small one, a head that
looks at neighbours (Clark et al. 2019, "What does BERT look at?"; Voita et al. 2019). For cross-
attention i and j are a target and a source position, so the distance measures how far the head
strays from the diagonal. The decoder-only Transformer has no encoder: its `encoder` is None, its
`cross` is the target rows' attention over the source slots renormalised over the source, and its
`decoder` the target rows over the target slots (transformer_lm.DecoderOnlyTransformer._run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from attn.data.text import BOS_ID, EOS_ID

KINDS = ("encoder", "decoder", "cross")
KIND_LABELS = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
               "cross": "cross-attention (target over source)"}


@dataclass(frozen=True, eq=False)
class HeadMaps:
    """One sentence's attention in every layer and head; rows and columns are its real tokens only."""

    encoder: np.ndarray | None   # (layers, heads, S, S) source over source; None for the decoder-only model
    decoder: np.ndarray          # (layers, heads, T, T) target over target (causal)
    cross: np.ndarray            # (layers, heads, T, S) target over source

    def of(self, kind: str) -> np.ndarray | None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return getattr(self, kind)

    def head_average(self, kind: str, layer: int = -1) -> np.ndarray | None:
        """The mean over heads of one layer (rows, cols); layer -1 with kind "cross" is the map the
        Attention page draws (AttentionMaps.weights)."""
        maps = self.of(kind)
        return None if maps is None else maps[layer].mean(axis=0)


@dataclass(frozen=True)
class HeadStat:
    """One head's summary, a row of the summary chart."""

    kind: str         # one of KINDS
    layer: int        # 1-based, as the charts label it
    head: int         # 1-based
    entropy: float    # mean over rows of -sum_j a_ij log a_ij, nats
    distance: float   # mean over rows of sum_j a_ij |i - j|, positions


def _stack(per_layer: Sequence[torch.Tensor], rows: int, cols: int) -> np.ndarray:
    """Per layer (1, heads, R, C) -> (layers, heads, rows, cols) float32, cropped to the real tokens."""
    return torch.stack([w[0, :, :rows, :cols] for w in per_layer]).to("cpu", torch.float32).numpy().copy()


@torch.no_grad()
def head_maps(model: nn.Module, src_ids: Sequence[int], out_ids: Sequence[int]) -> HeadMaps:
    """Every layer's and head's attention while the model reads `out_ids` (the reference, or its own
    output) after `src_ids`; one row per word of out_ids, scored after <s> and the words before it."""
    if not hasattr(model, "attention_maps"):
        raise TypeError(f"head_maps: a {type(model).__name__} has no per-head attention; only the Transformer "
                        "family (model.family = 'transformer') has heads")
    if not src_ids or not out_ids:
        raise ValueError(f"head_maps: need at least one source and one output token, got {len(src_ids)} "
                         f"and {len(out_ids)}")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        src = torch.tensor([list(src_ids)], dtype=torch.long, device=device)                  # (1, S)
        src_len = torch.tensor([len(src_ids)], dtype=torch.long, device=device)
        tgt_in = torch.tensor([[BOS_ID] + list(out_ids[:-1])], dtype=torch.long, device=device)  # (1, T)
        maps = model.attention_maps(src, src_len, tgt_in)
    finally:
        model.train(was_training)
    S, T = len(src_ids), len(out_ids)
    return HeadMaps(encoder=_stack(maps.encoder, S, S) if maps.encoder else None,
                    decoder=_stack(maps.decoder, T, T), cross=_stack(maps.cross, T, S))


def reference_head_maps(model: nn.Module, src_ids: Sequence[int], ref_ids: Sequence[int]) -> HeadMaps:
    """head_maps over the reference words followed by </s> (the rows of Decode.forced, plus the </s> row)."""
    return head_maps(model, src_ids, list(ref_ids) + [EOS_ID])


def entropy(weights) -> np.ndarray:
    """weights (..., rows, cols), each row a distribution -> (...) mean over rows of -sum_j a log a, nats."""
    a = np.asarray(weights, dtype=np.float64)
    terms = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1.0)), 0.0)       # 0 log 0 = 0
    return terms.sum(axis=-1).mean(axis=-1)


def mean_distance(weights) -> np.ndarray:
    """weights (..., rows, cols) -> (...) mean over rows i of sum_j a_ij |i - j|, in positions."""
    a = np.asarray(weights, dtype=np.float64)
    rows, cols = a.shape[-2:]
    gap = np.abs(np.arange(rows)[:, None] - np.arange(cols)[None, :])         # (rows, cols) |i - j|
    return (a * gap).sum(axis=-1).mean(axis=-1)


def head_stats(maps: HeadMaps) -> list[HeadStat]:
    """Entropy and mean distance of every head of every kind the model has, in KINDS, layer, head order."""
    out = []
    for kind in KINDS:
        weights = maps.of(kind)
        if weights is None or weights.size == 0:
            continue
        ent, dist = entropy(weights), mean_distance(weights)                  # (layers, heads) each
        for layer in range(weights.shape[0]):
            for head in range(weights.shape[1]):
                out.append(HeadStat(kind, layer + 1, head + 1, float(ent[layer, head]), float(dist[layer, head])))
    return out
