"""Saliency: where a model "looks" at the source, for every model, with or without attention.

Gradient x input (Shrikumar et al. 2017; Denil et al. 2014) of each output token's log-probability
with respect to the source token embeddings, read under teacher forcing:

    g_tj   = d log p(y_t | y_<t, x) / d e_j                       (E,)  e_j = E_src[x_j], the token embedding
    r_tj   = || g_tj * e_j ||_2                                   L2 norm over the embedding dimension
    sal_tj = r_tj / sum_k r_tk                                    each output row sums to 1, like attention

so a (T, S) map in the shape of an attention map, also for `none`, which has no attention to draw.
Padding (source columns past a sentence's length, target rows past its end) is 0. A row whose r are
all 0 gets uniform weights over the real source (the models' rule for an all-masked row).

Where each model reads its source tokens (`source_embedding`):
    Seq2Seq (every RNN variant)   model.encoder.embed             (B, S, E)
    Transformer (encoder-decoder) model.encoder.embed.table       (B, S, D), before the sqrt(D) scale and
                                                                  the positions (scaling e_j by c scales g_tj
                                                                  by 1/c: gradient x input is unchanged)
    DecoderOnlyTransformer        model.decoder.embed.table       (B, S + T, D) over the packed sequence, whose
                                                                  first src_len_b slots of row b are its source
                                                                  (transformer_lm.pack), so columns [:S] masked
                                                                  to the real source are the source embeddings

`rank_correlation` compares an attention map with a saliency map row by row (Spearman's rho), the
question of Jain & Wallace 2019 and Wiegreffe & Pinter 2019: does attention rank the source words as
the gradient does?
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import numpy as np
import torch
from torch import nn

from attn.data.text import BOS_ID, EOS_ID, PAD_ID
from attn.nn.decode import greedy
from attn.nn.model import Seq2Seq
from attn.nn.transformer import Transformer
from attn.nn.transformer_lm import DecoderOnlyTransformer


def source_embedding(model: nn.Module) -> nn.Embedding:
    """The embedding table whose output holds the source token embeddings e_j (see the module docstring)."""
    if isinstance(model, Seq2Seq):
        return model.encoder.embed
    if isinstance(model, Transformer):
        return model.encoder.embed.table
    if isinstance(model, DecoderOnlyTransformer):
        return model.decoder.embed.table
    raise TypeError(f"saliency: no known source embedding for a {type(model).__name__}; pass embedding= "
                    "(the nn.Embedding whose output (B, >=S, E) starts with the source tokens)")


@contextmanager
def _captured(embedding: nn.Module, store: list):
    """While active, every output of `embedding` is replaced by a leaf copy that requires grad (appended
    to `store`), so the gradient can be taken with respect to it even for a frozen model."""
    def hook(_module, _inputs, output):
        leaf = output.detach().requires_grad_(True)
        store.append(leaf)
        return leaf

    handle = embedding.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


LOGIT_BUDGET = 1 << 24   # numbers of logits per chunk of copies (64 MB of float32)
MAX_CHUNK = 256


def _relevance(model, embedding, src, src_len, tgt_in, tgt_out, steps, S: int) -> tuple[torch.Tensor, int]:
    """N copies, copy c scored at output step steps[c] -> r (N, S) = ||grad x input|| per source slot,
    and the vocabulary size V the model scores."""
    captured: list[torch.Tensor] = []
    with torch.enable_grad(), _captured(embedding, captured):
        logits = model(src, src_len, tgt_in)[0]                                      # (N, T, V)
        if not captured:
            raise RuntimeError(f"saliency: the model never called its source embedding {type(embedding).__name__}")
        embedded = captured[0]                                                       # (N, L >= S, E)
        at_step = logits.float()[torch.arange(src.size(0), device=logits.device), steps]  # (N, V)
        scored = tgt_out.gather(1, steps[:, None])                                   # (N, 1) y_t of copy c
        chosen = torch.log_softmax(at_step, dim=-1).gather(-1, scored)[:, 0]         # (N,) log p(y_t)
        (grad,) = torch.autograd.grad(chosen.sum(), embedded)
    return (grad * embedded)[:, :S].detach().float().norm(dim=-1).cpu(), logits.size(-1)


def saliency(model: nn.Module, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor,
             tgt_out: torch.Tensor, embedding: nn.Embedding | None = None) -> torch.Tensor:
    """src (B, S), src_len (B,), tgt_in (B, T) starting with <s>, tgt_out (B, T) the words scored
    (PAD where a row has ended) -> saliency (B, T, S) float32, rows of real words summing to 1.

    Sentences of a batch do not interact in any model here, so the gradient of a sum over sentences
    is each sentence's own: every sentence is copied T times, copy t scored at step t only, and one
    forward and one backward pass over the B T copies give all rows.
    """
    if src.dim() != 2 or tgt_in.shape != tgt_out.shape or src.size(0) != tgt_in.size(0):
        raise ValueError(f"saliency: need src (B, S), tgt_in and tgt_out (B, T) with one B; got src "
                         f"{tuple(src.shape)}, tgt_in {tuple(tgt_in.shape)}, tgt_out {tuple(tgt_out.shape)}")
    if int(src_len.min()) < 1:
        raise ValueError("saliency: every source sentence needs at least one token (an empty one is read "
                         "as one <unk>, as evaluate.translate does)")
    embedding = embedding if embedding is not None else source_embedding(model)
    B, T, S = src.size(0), tgt_out.size(1), src.size(1)
    # Copy c = b T + t of sentence b is scored at output step t only, so one backward pass of the sum
    # over copies gives every row of every sentence at once. The copies go in chunks whose logits
    # (chunk, T, V) stay under LOGIT_BUDGET numbers (the first chunk, of one copy, tells V).
    copies = lambda x: x.repeat_interleave(T, dim=0)
    all_src, all_len, all_in, all_out = copies(src), copies(src_len), copies(tgt_in), copies(tgt_out)
    steps = torch.arange(T, device=tgt_out.device).repeat(B)                        # (B T,) t of copy c
    was_training = model.training
    model.eval()  # no dropout: the map of one sentence is the same every time
    parts, first, chunk = [], 0, 1
    try:
        while first < B * T:
            part = slice(first, first + chunk)
            relevance, vocab = _relevance(model, embedding, all_src[part], all_len[part], all_in[part],
                                          all_out[part], steps[part], S)
            parts.append(relevance)
            first += chunk
            chunk = max(1, min(MAX_CHUNK, LOGIT_BUDGET // (T * vocab)))
    finally:
        model.train(was_training)
    relevance = torch.cat(parts).view(B, T, S)                                       # (B, T, S)
    src_mask = (torch.arange(S)[None, :] < src_len.cpu()[:, None]).float()           # (B, S)
    relevance = relevance * src_mask[:, None, :]
    total = relevance.sum(dim=-1, keepdim=True)                                      # (B, T, 1)
    uniform = src_mask[:, None, :] / src_mask.sum(dim=-1)[:, None, None]             # (B, 1, S)
    rows = torch.where(total > 0, relevance / total.clamp_min(torch.finfo(torch.float32).tiny), uniform)
    return rows * (tgt_out.cpu() != PAD_ID).float()[..., None]                       # padded rows 0


def _sentence(model: nn.Module, src_ids: Sequence[int], output_ids: Sequence[int]) -> np.ndarray:
    """One sentence's saliency while reading `output_ids` (each scored after the ones before it)."""
    device = next(model.parameters()).device
    src = torch.tensor([list(src_ids)], dtype=torch.long, device=device)
    src_len = torch.tensor([len(src_ids)], dtype=torch.long, device=device)
    tgt_in = torch.tensor([[BOS_ID] + list(output_ids[:-1])], dtype=torch.long, device=device)
    tgt_out = torch.tensor([list(output_ids)], dtype=torch.long, device=device)
    return saliency(model, src, src_len, tgt_in, tgt_out)[0].numpy().astype(np.float32)


def sequence_saliency(model: nn.Module, src_ids: Sequence[int], output_ids: Sequence[int]) -> np.ndarray:
    """Saliency (T, S) float32 of `output_ids` read under teacher forcing after `src_ids`, one row per id
    (a last EOS_ID is the end-of-sentence step): the rows of a stored decode's weights, or of a typed one's."""
    if not src_ids or not output_ids:
        raise ValueError(f"sequence_saliency: need a source and an output of at least one token each, got "
                         f"{len(src_ids)} source and {len(output_ids)} output ids")
    return _sentence(model, src_ids, list(output_ids))


def reference_saliency(model: nn.Module, src_ids: Sequence[int], ref_ids: Sequence[int]) -> np.ndarray:
    """Saliency (T_ref, S) float32 of the reference words read under teacher forcing: rows like
    Decode.forced (one per reference word; the </s> step is scored but not returned)."""
    if not src_ids or not ref_ids:
        raise ValueError(f"reference_saliency: need a source and a reference of at least one token each, "
                         f"got {len(src_ids)} source and {len(ref_ids)} reference ids")
    return _sentence(model, src_ids, list(ref_ids) + [EOS_ID])[:len(ref_ids)]


def output_saliency(model: nn.Module, src_ids: Sequence[int], max_len: int | None = None
                    ) -> tuple[list[int], np.ndarray]:
    """A typed sentence: the model's own greedy output ids (with </s> if it emitted one) and the saliency
    (T_hyp, S) float32 of those words read back under teacher forcing: rows like Decode.weights."""
    if not src_ids:
        raise ValueError("output_saliency: the sentence has no tokens; type at least one word")
    device = next(model.parameters()).device
    src = torch.tensor([list(src_ids)], dtype=torch.long, device=device)
    src_len = torch.tensor([len(src_ids)], dtype=torch.long, device=device)
    hyp = greedy(model, src, src_len, max_len)[0].tokens
    if not hyp:
        return [], np.zeros((0, len(src_ids)), dtype=np.float32)
    return hyp, _sentence(model, src_ids, hyp)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of a 1-D array, tied values sharing the mean of their ranks (as Spearman's rho needs)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, group = np.unique(values, return_inverse=True)
    return (np.bincount(group, weights=ranks) / np.bincount(group))[group]


def rank_correlation(attention, saliency_map) -> np.ndarray:
    """attention (T, S), saliency (T, S) -> (T,) Spearman's rho per output row: the Pearson correlation
    of the two rows' ranks (ties get mean ranks). NaN where a row is constant in either map (rho is
    undefined there), e.g. a one-word source."""
    a = attention.detach().cpu().numpy() if hasattr(attention, "detach") else np.asarray(attention)
    s = saliency_map.detach().cpu().numpy() if hasattr(saliency_map, "detach") else np.asarray(saliency_map)
    a, s = a.astype(np.float64), s.astype(np.float64)
    if a.ndim != 2 or a.shape != s.shape:
        raise ValueError(f"rank_correlation: attention and saliency must both be (T, S) of one shape, got "
                         f"{a.shape} and {s.shape}")
    rho = np.full(a.shape[0], np.nan)
    for t in range(a.shape[0]):
        ra, rs = _ranks(a[t]), _ranks(s[t])
        ra, rs = ra - ra.mean(), rs - rs.mean()
        denom = np.sqrt((ra ** 2).sum() * (rs ** 2).sum())
        if denom > 0:
            rho[t] = float((ra * rs).sum() / denom)
    return rho
