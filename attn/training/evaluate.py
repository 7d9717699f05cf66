"""Test-set decodes (records.Decode) and per-length-bucket metrics (a pandas DataFrame).

Per bucket of source length: corpus BLEU and chrF (sacrebleu), exact match, token accuracy and, where
gold alignments exist, the alignment score and AER of the attention. The attention is scored under
forced decoding of the reference (the model reads the gold prefix), so each attention row belongs to
a gold target word even when the model's own output differs.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from sacrebleu.metrics import BLEU, CHRF

from attn.data.batching import TensorSplit, sequential_batches
from attn.data.pairs import ParallelData, Pair, bucket_label, bucket_of
from attn.data.pairs import resolve_edges  # noqa: F401  the run's edges; experiment imports them from here
from attn.nn.decode import beam_search, greedy
from attn.data.text import UNK, Vocab, detokenize_words
from attn.records import Decode


def attention_matrix(weights: torch.Tensor | None) -> np.ndarray | None:
    """An attention matrix (T, S) as the float32 numpy array a Decode holds: the one tensor -> record step.

    A copy: the record does not keep the batch's tensor alive or share memory with it.
    """
    return None if weights is None else weights.detach().to("cpu", torch.float32).numpy().copy()


@torch.no_grad()
def decode_split(model, pairs: Sequence[Pair], split: TensorSplit, tgt_vocab: Vocab,
                 edges: Sequence[int], beam: int = 1, batch: int = 128, device="cpu",
                 src_words: Sequence[int] | None = None, attention: bool = True) -> list[Decode]:
    """Translate every pair (greedy when beam == 1) and record both attention matrices (attention=False:
    neither, and no teacher-forced pass, for a caller that scores the outputs only).

    Each decode's bucket is found from its source length in words: `src_words[i]` when the pairs are in
    subwords, else len(pair.src).
    """
    model.eval()
    out: list[Decode | None] = [None] * len(pairs)
    for idx in sequential_batches(len(split), batch, split.src_len):
        src, src_len, tgt_in, _ = split.batch(idx, device)
        hyps = greedy(model, src, src_len) if beam == 1 else beam_search(model, src, src_len, beam)
        _, forced = model(src, src_len, tgt_in) if attention else (None, None)  # (B, T_ref+1, S) | None
        for row, i in enumerate(idx.tolist()):
            pair = pairs[i]
            n_src, n_ref = int(src_len[row]), len(pair.tgt)
            out[i] = Decode(
                index=i, bucket=bucket_of(src_words[i] if src_words is not None else len(pair.src), edges), src=pair.src, ref=pair.tgt,
                hyp=tgt_vocab.decode(hyps[row].tokens),
                weights=attention_matrix(hyps[row].weights) if attention else None,  # (T_hyp, S)
                forced=attention_matrix(forced[row, :n_ref, :n_src]) if forced is not None else None)  # (T_ref, S)
    return out  # type: ignore[return-value]


def translate(model, sentence_tokens: Sequence[str], src_vocab: Vocab, tgt_vocab: Vocab,
              beam: int = 1, device="cpu") -> Decode:
    """Translate one tokenized sentence typed by a user -> a Decode without index, bucket, ref or forced.

    Its weights (T, S) keep the </s> row: it shows where the model decided to stop. An empty sentence
    is read as one <unk>, and its `src` says so.
    """
    tokens = list(sentence_tokens) or [UNK]
    ids = src_vocab.encode(tokens)
    src = torch.tensor([ids], dtype=torch.long, device=device)
    src_len = torch.tensor([len(ids)], dtype=torch.long, device=device)
    hyp = (greedy(model, src, src_len) if beam == 1 else beam_search(model, src, src_len, beam))[0]
    return Decode(index=None, bucket=None, src=tokens, ref=None, hyp=tgt_vocab.decode(hyp.tokens),
                  weights=attention_matrix(hyp.weights))


def alignment_scores(forced: np.ndarray, gold: frozenset) -> tuple[int, int, int, int]:
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


def bleu_tokenizer(data: ParallelData) -> str:
    """sacrebleu's tokenizer for a data set's BLEU: "char" at character level, else the standard "13a"."""
    return "char" if data.level == "char" else "13a"


def _metrics(data: ParallelData, references: list[str] | None = None) -> tuple[BLEU, CHRF]:
    """The two sacrebleu metric objects every score of `data` is computed with (so their signatures say
    what ran). force=True: the word-level hypotheses are already split, which sacrebleu would warn about.
    references: one reference per sentence, tokenized and counted once here (sacrebleu's own cache), for
    metrics that score the same sentences again and again (a checkpoint's sample); then score with
    corpus_score(hyps, None)."""
    refs = None if references is None else [references]
    return BLEU(tokenize=bleu_tokenizer(data), force=True, references=refs), CHRF(references=refs)


def signatures(data: ParallelData) -> dict[str, str]:
    """sacrebleu's signatures of the BLEU and chrF this evaluation computes on `data`, e.g.
    "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0". chrF's signature needs a scored
    corpus (it reads the number of references), so both score one dummy sentence first."""
    bleu, chrf = _metrics(data)
    for metric in (bleu, chrf):
        metric.corpus_score(["x"], [["x"]])
    return {"bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}


def _bucket_metrics(rows: list[Decode], test: Sequence[Pair], data: ParallelData, detok=None,
                    scorers: dict | None = None) -> dict:
    # Output tokens to text: subword runs pass SentencePiece's decode; a word-level corpus re-attaches the
    # apostrophes its tokenizer split off and is scored against the target as written (Pair.ref).
    written = bool(rows) and all(d.index is not None and test[d.index].ref is not None for d in rows)
    detok = detok or (detokenize_words if written else data.detok)
    hyps = [detok(d.hyp) for d in rows]
    refs = [test[d.index].ref for d in rows] if written else [detok(d.ref) for d in rows]
    if scorers is None:
        bleu_metric, chrf_metric = _metrics(data)
        streams = [refs]
    else:  # {references: metrics with them cached}: the same scores, the references tokenized only once
        key = tuple(refs)
        if key not in scorers:
            scorers[key] = _metrics(data, refs)
        (bleu_metric, chrf_metric), streams = scorers[key], None
    bleu = bleu_metric.corpus_score(hyps, streams).score if rows else float("nan")
    chrf = chrf_metric.corpus_score(hyps, streams).score if rows else float("nan")
    exact = 100.0 * sum(d.hyp == d.ref for d in rows) / max(len(rows), 1)
    matches = sum(sum(h == r for h, r in zip(d.hyp, d.ref)) for d in rows)
    positions = sum(max(len(d.hyp), len(d.ref)) for d in rows)
    token_acc = 100.0 * matches / max(positions, 1)
    align = aer = None
    if data.has_gold and rows and rows[0].forced is not None and all(test[d.index].align is not None for d in rows):
        hits = scored = inter = size = 0
        for d in rows:
            h, s, i, n = alignment_scores(d.forced, test[d.index].align)
            hits, scored, inter, size = hits + h, scored + s, inter + i, size + n
        align = 100.0 * hits / max(scored, 1)
        aer = 100.0 * (1 - 2 * inter / max(size, 1))
    return {"n": len(rows), "bleu": bleu, "chrf": chrf, "exact": exact, "token_acc": token_acc,
            "align": align, "aer": aer}


def bucket_table(decodes: list[Decode], data: ParallelData, edges: Sequence[int], detok=None,
                 pairs: Sequence[Pair] | None = None, scorers: dict | None = None) -> pd.DataFrame:
    """One row per bucket: bucket (its label), lo, hi (the edges' range), n and every metric.
    `detok` turns output tokens into the text BLEU scores (default data.detok); `pairs` are the
    sentences the decodes' indices point into (default the test split; a checkpoint's validation sample);
    `scorers` a dict kept between calls that score the same sentences (a checkpoint's sample): the
    metrics with each bucket's references tokenized once, filled on the first call."""
    pairs = data.test if pairs is None else pairs
    rows = []
    for k in range(len(edges) - 1):
        members = [d for d in decodes if d.bucket == k]
        rows.append({"bucket": bucket_label(edges, k), "lo": edges[k], "hi": edges[k + 1] - 1,
                     **_bucket_metrics(members, pairs, data, detok, scorers)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    for col in ("bleu", "chrf"):
        table[col] = table[col].where(table["n"] > 0)
    return table


def overall_metrics(decodes: list[Decode], data: ParallelData, detok=None, pairs: Sequence[Pair] | None = None,
                    scorers: dict | None = None) -> dict:
    """The same metrics over the whole test split (or over `pairs`, the split the decodes are of; with
    `scorers`, references tokenized once for repeated scoring, as in bucket_table)."""
    return _bucket_metrics(decodes, data.test if pairs is None else pairs, data, detok, scorers)
