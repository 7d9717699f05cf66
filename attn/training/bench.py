"""The speed benchmark behind `python -m attn bench`: figures printed, never asserted.

Two numbers: the wall time of the lecture preset (three variants, one seed, data + train + evaluate,
as `python -m attn train --preset lecture --no-store` runs it: measured by attn.cli.train.lecture_seconds,
since the job runner is a layer above this one), and the training throughput in target tokens per
second of each variant at the lecture preset's sizes on the reverse task (source lengths 3-20 over
40 symbols), measured in one process with all cores after a few warm-up steps.
"""
from __future__ import annotations

import dataclasses
import time

import torch

from attn.config import DataConfig, preset
from attn.training.optim import Adam
from attn.training.trainer import train_step
from attn.data.text import PAD_ID


# The throughput task: reverse, source lengths 3-20 over 40 symbols (the benchmark setting).
BENCH_DATA = DataConfig(task="reverse", n_train=4000, n_valid=50, n_test=50, min_len=3, max_len=20)


def fused_loss_step(model, optimizer, batch, clip: float, teacher_forcing: float = 1.0) -> torch.Tensor:
    """`trainer.train_step` with the output layer and the loss fused (models.token_loss) at any vocabulary."""
    return train_step(model, optimizer, batch, clip, teacher_forcing, fuse=True)


def plain_loss_step(model, optimizer, batch, clip: float, teacher_forcing: float = 1.0) -> torch.Tensor:
    """`trainer.train_step` with the plain logits and F.cross_entropy at any vocabulary."""
    return train_step(model, optimizer, batch, clip, teacher_forcing, fuse=False)


def time_steps(model, prepared, batch: int, steps: int = 60, warmup: int = 5,
               optimizer=None, clip: float = 0.0, step=None) -> tuple[float, int]:
    """(seconds, target tokens) of `steps` training steps (`step`, default `trainer.train_step`) after
    `warmup`.

    Batches come from the training split's length-sorted pools, as in real training. `optimizer`
    is anything with zero_grad() and step(); None is the tutorials' torch.optim.Adam.
    """
    from attn.data.batching import length_sorted_batches
    step = step or train_step
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = length_sorted_batches(prepared.train.src_len, batch, 32, torch.Generator().manual_seed(0))
    tokens, start = 0, time.perf_counter()
    for i in range(warmup + steps):
        if i == warmup:
            tokens, start = 0, time.perf_counter()
        step_batch = prepared.train.batch(batches[i % len(batches)])
        step(model, optimizer, step_batch, clip)
        tokens += int((step_batch[3] != PAD_ID).sum())
    return time.perf_counter() - start, tokens


def tokens_per_second(model, prepared, batch: int, steps: int = 60, warmup: int = 5,
                      optimizer=None, clip: float = 0.0) -> float:
    """Target tokens per second of `steps` training steps after `warmup` (see `time_steps`)."""
    seconds, tokens = time_steps(model, prepared, batch, steps, warmup, optimizer, clip)
    return tokens / seconds


def throughput(variant: str, steps: int = 60, warmup: int = 5, prepared=None) -> float:
    """Our training step's target tokens/s at the lecture preset's sizes on the benchmark task."""
    from attn.training.experiment import build_model, prepare
    cfg = dataclasses.replace(preset("lecture").with_variant(variant), data=BENCH_DATA)
    prepared = prepared or prepare(cfg.data)
    model = build_model(cfg, prepared).train()
    optimizer = Adam(model.parameters(), lr=cfg.train.lr)  # as the Trainer does
    return tokens_per_second(model, prepared, cfg.train.batch, steps, warmup, optimizer, cfg.train.clip)


def run_benchmark(lecture_seconds: float | None = None, steps: int = 60) -> dict:
    """The report: `lecture_seconds` as the caller measured it (attn.cli.train.lecture_seconds; None:
    skipped), then the throughput of each variant over `steps` timed steps."""
    cfg = preset("lecture")
    report = {
        "lecture_seconds": None if lecture_seconds is None else round(lecture_seconds, 2),
        "train_tokens_per_s": {v: round(throughput(v, steps)) for v in ("none", "additive", "dot")},
        "config": {"emb": cfg.model.emb, "hidden": cfg.model.hidden, "batch": cfg.train.batch,
                   "style": cfg.model.style, "epochs": cfg.train.epochs, "n_train": cfg.data.n_train,
                   "torch_threads": torch.get_num_threads()},
    }
    return report
