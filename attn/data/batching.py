"""Turning token pairs into padded tensors once, and into length-sorted minibatches each epoch.

The whole split is padded into one matrix up front, so a minibatch is an index select plus a trim to
its longest sentence: no per-example Python work inside the training step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from attn.data.pairs import Pair
from attn.data.text import BOS_ID, EOS_ID, PAD_ID, Vocab


@dataclass
class TensorSplit:
    """One split as padded id matrices."""

    src: torch.Tensor       # (N, S_max) source ids, PAD after each sentence
    src_len: torch.Tensor   # (N,) real source lengths (>= 1)
    tgt: torch.Tensor       # (N, T_max + 2) <s> target </s>, then PAD
    tgt_len: torch.Tensor   # (N,) target length + 1 (the </s> the decoder must predict)

    def __len__(self) -> int:
        return self.src.size(0)

    def batch(self, idx: torch.Tensor, device: str | torch.device = "cpu"):
        """idx (B,) -> src (B, S), src_len (B,), tgt_in (B, T), tgt_out (B, T), trimmed to the batch."""
        src_len = self.src_len[idx]
        tgt_len = self.tgt_len[idx]
        s, t = int(src_len.max()), int(tgt_len.max())
        src = self.src[idx, :s]
        tgt = self.tgt[idx, :t + 1]
        return (src.to(device), src_len.to(device), tgt[:, :-1].to(device), tgt[:, 1:].to(device))


def tensorize(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab) -> TensorSplit:
    """Encode and pad a split; an empty source becomes a single <unk> so every length is >= 1."""
    n = len(pairs)
    src_ids = [src_vocab.encode(p.src) or [src_vocab.stoi["<unk>"]] for p in pairs]
    tgt_ids = [tgt_vocab.encode(p.tgt) for p in pairs]
    s_max = max((len(x) for x in src_ids), default=1)
    t_max = max((len(y) for y in tgt_ids), default=0)
    src = torch.full((n, s_max), PAD_ID, dtype=torch.long)
    tgt = torch.full((n, t_max + 2), PAD_ID, dtype=torch.long)
    for i, (x, y) in enumerate(zip(src_ids, tgt_ids)):
        src[i, :len(x)] = torch.tensor(x, dtype=torch.long)
        tgt[i, 0] = BOS_ID
        tgt[i, 1:len(y) + 1] = torch.tensor(y, dtype=torch.long)
        tgt[i, len(y) + 1] = EOS_ID
    src_len = torch.tensor([len(x) for x in src_ids], dtype=torch.long)
    tgt_len = torch.tensor([len(y) + 1 for y in tgt_ids], dtype=torch.long)
    return TensorSplit(src, src_len, tgt, tgt_len)


def length_sorted_batches(src_len: torch.Tensor, batch: int, pool: int,
                          generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffle, cut into pools of `pool` batches, sort each pool by length, shuffle the batches.

    Sorting inside a pool keeps padding small; shuffling before and after keeps batches varied.
    """
    order = torch.randperm(len(src_len), generator=generator)
    batches: list[torch.Tensor] = []
    pool_size = batch * pool
    for start in range(0, len(order), pool_size):
        chunk = order[start:start + pool_size]
        chunk = chunk[torch.argsort(src_len[chunk], stable=True)]
        batches.extend(chunk.split(batch))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def sequential_batches(n: int, batch: int, src_len: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Batches for evaluation, sorted by length (less padding) when lengths are given."""
    order = torch.arange(n) if src_len is None else torch.argsort(src_len, stable=True)
    return list(order.split(batch))
