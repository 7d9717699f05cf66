"""One run from config to results: data -> vocabularies -> model -> training -> test decodes -> metrics.

`prepare` builds everything that depends only on the data settings, so the variants and seeds of a
comparison train on exactly the same tensors; `run` trains and evaluates one `RunConfig`.

Train short, test long: every result records the range of source lengths seen in training, and each
length bucket whether it lies past it (BucketRow.unseen); the buckets are cut at the longest training
length + 1, so none mixes lengths seen in training with longer ones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pandas as pd
from torch import nn

from attn.data.batching import TensorSplit, tensorize
from attn.config import DataConfig, RunConfig, limits, ConfigError
from attn.data.pairs import ParallelData, run_edges
from attn.data.load import load_data
from attn.data.subwords import Subwords, subwords_for, to_pieces
from attn.records import BucketRow, Decode, bucket_frame
from attn.training.checkpointing import BUDGET, Checkpointer
from attn.training.evaluate import bucket_table, decode_split, overall_metrics, signatures
from attn.nn import models
from attn.nn.model import count_parameters
from attn.data.text import Vocab, detokenize_words
from attn.training.trainer import Callback, TrainResult, Trainer, resolve_device, set_seed


@dataclass
class Prepared:
    """A data set made ready for training: vocabularies, tensors and bucket edges."""

    data: ParallelData
    src_vocab: Vocab
    tgt_vocab: Vocab
    train: TensorSplit
    valid: TensorSplit
    test: TensorSplit
    edges: list[int]                  # bucket edges in source WORDS, whatever the model reads
    words: ParallelData | None = None  # the word-level data when `data` is in subwords, else None
    subwords: Subwords | None = None   # the SentencePiece models `data` was encoded with

    @property
    def word_data(self) -> ParallelData:
        """The data in words: what buckets, training lengths and references are measured in."""
        return self.words if self.words is not None else self.data

    @property
    def train_range(self) -> tuple[int, int]:
        """(shortest, longest) source length in the training split, in words (tokens at char level)."""
        lengths = [len(p.src) for p in self.word_data.train]
        return min(lengths), max(lengths)

    def detok(self, tokens) -> str:
        """Model tokens back to text for BLEU and display: pieces decoded by SentencePiece, else joined."""
        if self.subwords is None:
            return self.data.detok(tokens)
        text = self.subwords.decode("tgt", tokens)  # the word tokens' text; with written references, as written
        written = bool(self.data.test) and self.data.test[0].ref is not None
        return detokenize_words(text.split()) if written else text


def prepare(cfg: DataConfig, data: ParallelData | None = None, subword_cache=None) -> Prepared:
    """Build vocabularies on the training split only and tensorize all three splits.

    With cfg.subwords ("bpe" | "unigram", cfg.subword_vocab pieces per side) the model reads and writes
    SentencePiece pieces trained on the training split (cached under `subword_cache`, default the run
    store's corpus folder); the bucket edges are still cut in source words, from the word-level data.
    """
    data = data if data is not None else load_data(cfg)
    if not data.train or not data.valid or not data.test:
        raise ConfigError(f"data set {data.name!r} needs non-empty train, valid and test splits "
                          f"(got {len(data.train)}, {len(data.valid)}, {len(data.test)} pairs)")
    edges = run_edges(data, cfg.buckets, cfg.n_buckets)                       # in source words
    words, subwords = None, None
    if cfg.subwords:
        subwords = subwords_for(data, cfg.subwords, cfg.subword_vocab, subword_cache)
        words, data = data, to_pieces(data, subwords)
    src_vocab = Vocab.build((p.src for p in data.train), min_freq=cfg.min_freq)
    tgt_vocab = Vocab.build((p.tgt for p in data.train), min_freq=cfg.min_freq)
    cap = limits()["vocab"]
    for side, vocab in (("source", src_vocab), ("target", tgt_vocab)):
        if len(vocab) > cap:
            raise ConfigError(f"the {side} vocabulary has {len(vocab)} words, over the limit of {cap} "
                              "(raise data.min_freq or set ATTN_MAX_VOCAB)")
    return Prepared(data, src_vocab, tgt_vocab,
                    tensorize(data.train, src_vocab, tgt_vocab),
                    tensorize(data.valid, src_vocab, tgt_vocab),
                    tensorize(data.test, src_vocab, tgt_vocab),
                    edges, words, subwords)


@dataclass
class RunResult:
    config: RunConfig
    params: int
    training: TrainResult
    buckets: list[BucketRow]          # one row per length bucket
    overall: dict                     # the same metrics over the whole test split
    decodes: list[Decode]
    model: nn.Module
    src_vocab: Vocab
    tgt_vocab: Vocab
    train_seconds: float
    eval_seconds: float
    task: str = ""
    extra: dict = field(default_factory=dict)
    train_range: tuple[int, int] | None = None  # (shortest, longest) training source length, in tokens
    # sacrebleu's signatures of the BLEU and chrF above ({"bleu_signature": "nrefs:1|...|tok:13a|...", ...}).
    # Apart from `overall` because the store writes every overall value as a number.
    signatures: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The `--out` JSON record of this run."""
        buckets = [row.to_json() for row in self.buckets]
        lo, hi = self.train_range or (None, None)
        return {"variant": self.config.model.label, "style": self.config.model.style,  # "dot", "dec·alibi", ...
                "seed": self.config.seed, "task": self.task, "params": self.params,
                "train_seconds": round(self.train_seconds, 3), "eval_seconds": round(self.eval_seconds, 3),
                "epochs": len(self.training.epochs), "stopped": self.training.stopped,
                "final_valid_loss": self.training.epochs[-1]["valid_loss"] if self.training.epochs else None,
                "train_min_len": lo, "train_max_len": hi, "buckets": buckets,
                "overall": {**self.overall, **self.signatures}}


def build_model(cfg: RunConfig, prepared: Prepared) -> nn.Module:
    """A freshly initialised model of cfg.model.family; the seed makes the initial weights identical
    across reruns."""
    set_seed(cfg.seed)
    return models.build_model(cfg.model, len(prepared.src_vocab), len(prepared.tgt_vocab))


def validation_bleu(prepared: Prepared, device="cpu") -> Callable[[nn.Module], float]:
    """model -> corpus BLEU of its greedy decodes of the whole validation split, scored as the test split is
    (detokenized output against the reference, sacrebleu): what early_stop = "bleu" watches. The references
    are tokenized once, at the first epoch."""
    scorers: dict = {}
    words = [len(p.src) for p in prepared.word_data.valid]

    def score(model: nn.Module) -> float:
        decodes = decode_split(model, prepared.data.valid, prepared.valid, prepared.tgt_vocab, prepared.edges,
                               device=device, src_words=words, attention=False)  # BLEU reads the outputs only
        return overall_metrics(decodes, prepared.data, prepared.detok, prepared.data.valid, scorers)["bleu"]
    return score


def run(cfg: RunConfig, prepared: Prepared | None = None, callbacks: Iterable[Callback] = (),
        should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Train and evaluate one run. Deterministic: the same config and seed give the same curves."""
    prepared = prepared if prepared is not None else prepare(cfg.data)
    device = resolve_device(cfg.train.device)
    model = build_model(cfg, prepared)
    # checkpoints: the sample and the probes are picked (a typed probe checked) before training starts
    checkpointer = Checkpointer(prepared, cfg.data, cfg.train.probe, device) if cfg.train.checkpoints else None
    scorer = validation_bleu(prepared, device) if cfg.train.early_stop == "bleu" else None
    trainer = Trainer(model, cfg.train, prepared.train, prepared.valid, seed=cfg.seed, device=device,
                      checkpoint=checkpointer, budget=BUDGET, valid_bleu=scorer)
    for fn in callbacks:
        trainer.add_callback(fn)
    training = trainer.fit(should_stop)
    start = time.perf_counter()
    if training.stopped:  # a stopped run is kept with its curves; evaluating it would only cost time
        return RunResult(cfg, count_parameters(model), training, [], {}, [], model.cpu(),
                         prepared.src_vocab, prepared.tgt_vocab, training.seconds, 0.0, task=prepared.data.name,
                         train_range=prepared.train_range)
    decodes = decode_split(model, prepared.data.test, prepared.test, prepared.tgt_vocab, prepared.edges,
                           beam=cfg.train.beam, device=device,
                           src_words=[len(p.src) for p in prepared.word_data.test])
    train_min, train_max = prepared.train_range
    # The evaluation's table becomes records once, here: RunResult, store and pages hold BucketRows.
    buckets = [BucketRow.from_values(row).past_training(train_max)
               for row in bucket_table(decodes, prepared.data, prepared.edges, prepared.detok).to_dict("records")]
    # The store keeps the training range with the overall metrics (no column of its own).
    overall = {**overall_metrics(decodes, prepared.data, prepared.detok), "train_min_len": train_min, "train_max_len": train_max}
    eval_seconds = time.perf_counter() - start
    return RunResult(cfg, count_parameters(model), training, buckets, overall, decodes, model.cpu(),
                     prepared.src_vocab, prepared.tgt_vocab, training.seconds, eval_seconds,
                     task=prepared.data.name, train_range=(train_min, train_max),
                     signatures=signatures(prepared.data))


def results_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run x bucket, with task, variant and seed: the table the CLI prints."""
    return bucket_frame((({"task": r.task, "variant": r.config.model.label, "seed": r.config.seed}, row)
                         for r in results for row in r.buckets), identity=("task", "variant", "seed"))
