"""Test-set decodes and per-length-bucket metrics, as pandas DataFrames.

Per bucket of source length: corpus BLEU and chrF (sacrebleu), exact match, token accuracy and, where
gold alignments exist, the alignment score and AER of the attention. The attention is scored under
forced decoding of the reference (the model reads the gold prefix), so each attention row belongs to
a gold target word even when the model's own output differs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd
import sacrebleu
import torch

from attn.data.batching import TensorSplit, sequential_batches
from attn.data.pairs import ParallelData, Pair, bucket_edges, bucket_label, bucket_of
from attn.nn.decode import beam_search, greedy
from attn.data.text import Vocab



@dataclass
class Decode:
    """One test sentence as the model translated it."""

    index: int
    src: list[str]
    ref: list[str]
    hyp: list[str]
    weights: torch.Tensor | None       # (T_hyp, S) attention while generating the hypothesis
    forced: torch.Tensor | None        # (T_ref, S) attention while reading the reference
    bucket: int | None


@torch.no_grad()
def decode_split(model, pairs: Sequence[Pair], split: TensorSplit, tgt_vocab: Vocab,
                 edges: Sequence[int], beam: int = 1, batch: int = 128, device="cpu") -> list[Decode]:
    """Translate every pair (greedy when beam == 1) and record both attention matrices."""
    model.eval()
    out: list[Decode | None] = [None] * len(pairs)
    for idx in sequential_batches(len(split), batch, split.src_len):
        src, src_len, tgt_in, _ = split.batch(idx, device)
        hyps = greedy(model, src, src_len) if beam == 1 else beam_search(model, src, src_len, beam)
        _, forced = model(src, src_len, tgt_in)                         # (B, T_ref+1, S) | None
        for row, i in enumerate(idx.tolist()):
            pair = pairs[i]
            n_src, n_ref = int(src_len[row]), len(pair.tgt)
            out[i] = Decode(
                index=i, src=list(pair.src), ref=list(pair.tgt),
                hyp=tgt_vocab.decode(hyps[row].tokens),
                weights=None if hyps[row].weights is None else hyps[row].weights.to(torch.float32),
                forced=None if forced is None else forced[row, :n_ref, :n_src].cpu().clone(),
                bucket=bucket_of(len(pair.src), edges))
    return out  # type: ignore[return-value]


def translate(model, sentence_tokens: Sequence[str], src_vocab: Vocab, tgt_vocab: Vocab,
              beam: int = 1, device="cpu") -> tuple[list[str], torch.Tensor | None]:
    """Translate one tokenized sentence typed by a user -> (output tokens, weights (T, S) | None)."""
    ids = src_vocab.encode(sentence_tokens) or [1]
    src = torch.tensor([ids], dtype=torch.long, device=device)
    src_len = torch.tensor([len(ids)], dtype=torch.long, device=device)
    hyp = (greedy(model, src, src_len) if beam == 1 else beam_search(model, src, src_len, beam))[0]
    # The weights keep the </s> row: it shows where the model decided to stop.
    return tgt_vocab.decode(hyp.tokens), hyp.weights


def alignment_scores(forced: torch.Tensor, gold: frozenset) -> tuple[int, int, int, int]:
    """(hits, scored, |A & S|, |A| + |S|) for one sentence.

    hits/scored: target words whose highest-weight source word is gold-aligned, over target words
    that have a gold link. A = {(t, argmax_j a_tj)}, S = gold; AER = 1 - 2|A & S| / (|A| + |S|)
    (Och & Ney 2003, with every gold link sure).
    """
    argmax = forced.argmax(-1).tolist()                               # (T,)
    aligned_targets = {t for t, _ in gold}
    hits = sum(1 for t, j in enumerate(argmax) if t in aligned_targets and (t, j) in gold)
    predicted = {(t, j) for t, j in enumerate(argmax)}
    return hits, len(aligned_targets), len(predicted & gold), len(predicted) + len(gold)


def _bucket_metrics(rows: list[Decode], test: Sequence[Pair], data: ParallelData) -> dict:
    hyps = [data.detok(d.hyp) for d in rows]
    refs = [data.detok(d.ref) for d in rows]
    tokenize = "char" if data.level == "char" else "13a"
    bleu = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize, force=True).score if rows else float("nan")
    chrf = sacrebleu.corpus_chrf(hyps, [refs]).score if rows else float("nan")
    exact = 100.0 * sum(d.hyp == d.ref for d in rows) / max(len(rows), 1)
    matches = sum(sum(h == r for h, r in zip(d.hyp, d.ref)) for d in rows)
    positions = sum(max(len(d.hyp), len(d.ref)) for d in rows)
    token_acc = 100.0 * matches / max(positions, 1)
    align = aer = None
    if data.has_gold and rows and rows[0].forced is not None:
        hits = scored = inter = size = 0
        for d in rows:
            h, s, i, n = alignment_scores(d.forced, test[d.index].align)
            hits, scored, inter, size = hits + h, scored + s, inter + i, size + n
        align = 100.0 * hits / max(scored, 1)
        aer = 100.0 * (1 - 2 * inter / max(size, 1))
    return {"n": len(rows), "bleu": bleu, "chrf": chrf, "exact": exact, "token_acc": token_acc,
            "align": align, "aer": aer}


def resolve_edges(data: ParallelData, edges: Sequence[int] | None, n_buckets: int = 5) -> list[int]:
    """User edges as given, else equal-width buckets over the test split's source lengths."""
    if edges:
        return list(edges)
    return bucket_edges([len(p.src) for p in data.test] or [len(p.src) for p in data.train], n_buckets)


def bucket_table(decodes: list[Decode], data: ParallelData, edges: Sequence[int]) -> pd.DataFrame:
    """One row per bucket (plus 'all'): bucket, lo, hi, n and every metric."""
    rows = []
    for k in range(len(edges) - 1):
        members = [d for d in decodes if d.bucket == k]
        rows.append({"bucket": bucket_label(edges, k), "lo": edges[k], "hi": edges[k + 1] - 1,
                     **_bucket_metrics(members, data.test, data)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    for col in ("bleu", "chrf"):
        table[col] = table[col].where(table["n"] > 0)
    return table


def overall_metrics(decodes: list[Decode], data: ParallelData) -> dict:
    """The same metrics over the whole test split."""
    return _bucket_metrics(decodes, data.test, data)
