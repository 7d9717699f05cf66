"""Checkpoints of a run in training, bounded: which to keep, and their probe maps in float16.

A run takes a checkpoint every epoch (or every N steps); storing all of them would grow without bound,
so at most `max_keep` (default 50) stay, always the first and the newest, the rest evenly spaced.

Thinning, streaming (`Thinner.add` says which stored checkpoints to delete as each new one comes):
checkpoints are numbered n = 0, 1, 2, ... as they arrive, and a run plans H of them (its horizon:
epochs x evaluations per epoch, known before training starts). The ones kept are the targets

    targets(H) = { round(j (H - 1) / (K - 1)) : j = 0 .. K - 1 }      (all of 0 .. H-1 when H <= K)

that have arrived, plus the newest (kept until the next arrives, then dropped unless it is a target).
At the planned end (n = H - 1, itself a target) exactly K stay and consecutive ones are floor or ceil
of (H - 1) / (K - 1) apart: even within one checkpoint. A run stopped early (patience, cancel) keeps
the targets so far and its last one. A run that outgrows its plan (or has none: H starts at K)
doubles it, H <- 2H - 1, and the targets of the new plan below H are exactly the old targets of even
j (both are round(2j (H - 1) / (K - 1))), so the checkpoints kept are thinned to every other one, never
replaced by ones already deleted.

Probes: before training a run picks a few sentences (`choose_probes`: one per length bucket of the
validation split); at each checkpoint `probe_attention` reads their attention under teacher forcing
(rows = reference words), exactly as evaluation reads a test sentence's `Decode.forced`, so the maps
of the last checkpoint are the finished run's. They are stored as float16 `.npy` bytes (`encode_map`):
weights lie in [0, 1], where float16 keeps about 3 significant digits, a quarter of float64's bytes.
"""
from __future__ import annotations

import dataclasses
import io
from typing import TYPE_CHECKING, Sequence

import numpy as np

from attn.config import ConfigError
from attn.data.normalize import SHOWN, TypedSentence, data_form, normalize_typed
from attn.data.pairs import Pair, bucket_of

if TYPE_CHECKING:  # torch only where a model runs: the store thins and decodes maps without it
    from attn.data.batching import TensorSplit

MAX_CHECKPOINTS = 50


def targets(horizon: int, max_keep: int) -> set[int]:
    """The checkpoint numbers kept at the end of a run of `horizon` checkpoints: K evenly spaced,
    first and last included (every one when there are at most K)."""
    if horizon <= max_keep:
        return set(range(horizon))
    return {round(j * (horizon - 1) / (max_keep - 1)) for j in range(max_keep)}


class Thinner:
    """Which checkpoints of one run to keep, decided as they arrive (see the module docstring).

        thinner = Thinner(max_keep=50, planned=epochs)
        for each checkpoint: store it under its step, then delete every step in thinner.add(step)
    """

    def __init__(self, max_keep: int = MAX_CHECKPOINTS, planned: int | None = None):
        if not isinstance(max_keep, int) or max_keep < 2:
            raise ValueError(f"Thinner: max_keep = {max_keep!r} must be a whole number >= 2 (first and last)")
        if planned is not None and (not isinstance(planned, int) or planned < 1):
            raise ValueError(f"Thinner: planned = {planned!r} must be a whole number of checkpoints >= 1, or None")
        self.max_keep = max_keep
        self.horizon = max(planned or max_keep, 1)
        self._targets = targets(self.horizon, max_keep)
        self.arrived = 0                      # checkpoints seen so far
        self._kept: list[tuple[int, int]] = []  # (number, step) in arrival order

    @property
    def kept(self) -> list[int]:
        """Steps of the checkpoints kept, oldest first."""
        return [step for _, step in self._kept]

    def add(self, step: int) -> list[int]:
        """A new checkpoint at training step `step` (after every earlier one) -> steps to delete now."""
        if self._kept and step <= self._kept[-1][1]:
            raise ValueError(f"Thinner.add: step {step} comes after step {self._kept[-1][1]}; checkpoints "
                             "must arrive in training order")
        number = self.arrived
        self.arrived += 1
        if number >= self.horizon:                   # outgrew the plan: every other target goes
            while number >= self.horizon:
                self.horizon = 2 * self.horizon - 1
            self._targets = targets(self.horizon, self.max_keep)
        # the newest so far goes unless it is a target (and, after a doubling, the odd old targets)
        evicted = [s for n, s in self._kept if n not in self._targets]
        self._kept = [(n, s) for n, s in self._kept if n in self._targets] + [(number, step)]
        return evicted


def thin(steps, max_keep: int = MAX_CHECKPOINTS, planned: int | None = None) -> list[int]:
    """The steps a Thinner keeps after seeing `steps` in order (e.g. to thin a stored run)."""
    thinner = Thinner(max_keep, planned)
    for step in steps:
        thinner.add(step)
    return thinner.kept


def encode_map(weights) -> bytes:
    """An attention or saliency map (T, S) -> float16 .npy bytes (shape and dtype inside, no pickle)."""
    matrix = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights)
    if matrix.ndim != 2:
        raise ValueError(f"encode_map: a probe map is (T, S), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("encode_map: the map holds NaN or infinite weights; only finite weights are stored")
    buffer = io.BytesIO()
    np.save(buffer, matrix.astype(np.float16), allow_pickle=False)
    return buffer.getvalue()


def decode_map(data: bytes) -> np.ndarray:
    """float16 .npy bytes from encode_map -> the map as float32 (T, S), the dtype every chart takes."""
    matrix = np.load(io.BytesIO(data), allow_pickle=False)
    if matrix.dtype != np.float16 or matrix.ndim != 2:
        raise ValueError(f"decode_map: expected a float16 (T, S) map, got {matrix.dtype} of shape {matrix.shape}")
    return matrix.astype(np.float32)


def choose_probes(pairs: Sequence[Pair], edges: Sequence[int]) -> list[int]:
    """Indices of one pair per length bucket (empty buckets skipped), shortest bucket first: the pair
    whose source length is nearest the bucket's middle, the first such in the split's order."""
    chosen = []
    for k in range(len(edges) - 1):
        middle = (edges[k] + edges[k + 1] - 1) / 2
        inside = [i for i, p in enumerate(pairs) if bucket_of(len(p.src), edges) == k]
        if inside:
            chosen.append(min(inside, key=lambda i: (abs(len(pairs[i].src) - middle), i)))
    return chosen


def probe_attention(model, probes: "TensorSplit", device="cpu") -> list[np.ndarray] | None:
    """The teacher-forced attention (T_ref, S) float32 of every probe, as evaluate.decode_split's
    `forced`: rows are the reference words (no </s> row), columns the real source words. None for a
    model without attention. Called between training steps: the model's mode is given back."""
    import torch
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            src, src_len, tgt_in, _ = probes.batch(torch.arange(len(probes)), device)
            _, weights = model(src, src_len, tgt_in)                            # (P, T_max, S_max) | None
    finally:
        model.train(was_training)
    if weights is None:
        return None
    out = []
    for row in range(len(probes)):
        n_src, n_ref = int(probes.src_len[row]), int(probes.tgt_len[row]) - 1    # tgt_len counts </s>
        out.append(weights[row, :n_ref, :n_src].detach().to("cpu", torch.float32).numpy().copy())
    return out


def check_probe(text: str, data, vocab=None) -> TypedSentence:
    """A probe sentence typed on the Train page (TrainConfig.probe), written as the data writes its sources.

    `data` is the run's DataConfig; `vocab` its source vocabulary, when known (the worker always knows it).
    Refused with a ConfigError naming train.probe: an empty sentence, one longer than the data's longest
    source (the probe should be a sentence like the training ones) and words the vocabulary lacks (the model
    has no embedding for them: every one would read as <unk>).
    """
    form = data_form(data)
    try:
        typed = normalize_typed(text, data, vocab, limit=form.train_max_len)
    except ValueError as exc:
        raise ConfigError(f"train.probe: {exc}") from None
    if typed.unknown:
        kind = "characters" if form.level == "char" else "symbols" if form.typed.symbols else "words"
        named = ", ".join(repr(t) for t in typed.unknown[:SHOWN])
        more = f" and {len(typed.unknown) - SHOWN} more" if len(typed.unknown) > SHOWN else ""
        raise ConfigError(f"train.probe: {len(typed.unknown)} of its {kind} never occur in the training data "
                          f"({named}{more}); the model has no embedding for them, so use {kind} of the "
                          "training sentences (see the Data page's preview)")
    return typed


def probe_vocab(data, data_config):
    """The source vocabulary a run on `data` (ParallelData) will have, to check a typed probe against before
    the run is queued; None for subword data (any text becomes pieces)."""
    from attn.data.text import Vocab
    if getattr(data_config, "subwords", None):
        return None
    return Vocab.build((p.src for p in data.train), min_freq=data_config.min_freq)


def with_probe(cfg, text: str):
    """`cfg` (a RunConfig) whose checkpoints keep the attention of the typed sentence `text`."""
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, probe=text))
