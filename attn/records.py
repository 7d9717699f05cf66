"""The names and records every layer shares, importable without torch or Streamlit.

One list of metrics, defined once: evaluation computes them, the store keeps a column per metric, and
charts and pages label them from here.

One type per thing, the same from where it is made to where it is drawn:
    Decode      one test sentence as a model translated it, with its attention
                (evaluation -> RunResult -> store.decodes -> Attention page, CLI figures)
    BucketRow   one source-length bucket's metrics of one run
                (RunResult.buckets -> store.bucket_rows -> bucket_frame -> Compare page, CLI)
    RunRecord   one stored run: its row of the store's `runs` table, parsed, plus what follows from it
                (store.run / store.progress -> runner, CLI, pages; `to_json()` for JSON output)
Attention matrices are numpy float32 arrays; evaluation converts its tensors once, where it makes
them. Charts take tidy DataFrames, and `bucket_frame` is the one place bucket rows become one.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

METRICS = ("bleu", "chrf", "exact", "token_acc", "align", "aer")
METRIC_LABELS = {"bleu": "BLEU", "chrf": "chrF", "exact": "exact match (%)", "token_acc": "token accuracy (%)",
                 "align": "alignment score (%)", "aer": "AER (%)"}


def _matrix(name: str, matrix, rows: int | None, cols: int) -> None:
    """Refuse an attention matrix that is not a float32 (rows, cols) numpy array (None passes)."""
    if matrix is None:
        return
    if not isinstance(matrix, np.ndarray) or matrix.dtype != np.float32 or matrix.ndim != 2:
        kind = (f"a {matrix.dtype} array of {matrix.ndim} dimensions" if isinstance(matrix, np.ndarray)
                else f"a {type(matrix).__module__}.{type(matrix).__name__}")
        raise TypeError(f"Decode.{name} must be a 2-D numpy float32 array (convert tensors where they are "
                        f"made, e.g. evaluate.attention_matrix), got {kind}")
    if matrix.shape[1] != cols or (rows is not None and matrix.shape[0] != rows):
        want = f"({rows}, {cols})" if rows is not None else f"(T, {cols})"
        raise ValueError(f"Decode.{name} must be {want} for this sentence's tokens, got {matrix.shape}")


@dataclass(frozen=True, eq=False)
class Decode:
    """One sentence as a model translated it: its tokens and both attention matrices.

    A test sentence has its `index` in the test split, its length `bucket` and its reference; a
    sentence a user typed has none of the three (None) and no `forced` matrix.
    """

    index: int | None                # position in the test split; None for a typed sentence
    bucket: int | None               # source-length bucket index; None outside every bucket or typed
    src: tuple[str, ...]             # source tokens, S of them
    ref: tuple[str, ...] | None      # reference tokens, T_ref of them; None for a typed sentence
    hyp: tuple[str, ...]             # the model's output tokens, without </s>
    weights: np.ndarray | None = None   # (T_hyp, S) float32 attention while generating `hyp` (T_hyp may
                                        # count a last row for </s>); None without attention
    forced: np.ndarray | None = None    # (T_ref, S) float32 attention while reading `ref`; None without

    def __post_init__(self):
        for name in ("src", "ref", "hyp"):
            tokens = getattr(self, name)
            if tokens is not None:
                if isinstance(tokens, str):
                    raise TypeError(f"Decode.{name} must be a sequence of tokens, got the string {tokens!r}")
                object.__setattr__(self, name, tuple(tokens))  # frozen: shared by every page visitor
        _matrix("weights", self.weights, None, len(self.src))
        _matrix("forced", self.forced, None if self.ref is None else len(self.ref), len(self.src))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Decode):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    __hash__ = None  # equal by value, and mutable arrays inside: not a dict key


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(a, b)
    return a == b


@dataclass(frozen=True)
class BucketRow:
    """One source-length bucket of one run: its label and range, how many test sentences, every metric.

    A metric without a value (BLEU of an empty bucket, alignment without gold links) is None, never NaN.

    `unseen` says whether the bucket lies past the training lengths: True when every source length in
    it is longer than the longest training source, False when none is, None when not known (a row
    stored without its run's training range). There is no "partly unseen": a run's buckets are cut at
    the longest training length + 1 (pairs.split_at_training), so no bucket mixes lengths seen in
    training with longer ones. Only the metrics and their range are stored per bucket (BUCKET_COLUMNS);
    the store keeps the training range with the run's overall metrics.
    """

    bucket: str                      # the label, e.g. "5-9"
    lo: int | None                   # shortest source length in the bucket
    hi: int | None                   # longest source length in the bucket
    n: int                           # test sentences in the bucket
    bleu: float | None               # one field per name in METRICS, in that order
    chrf: float | None
    exact: float | None
    token_acc: float | None
    align: float | None
    aer: float | None
    unseen: bool | None = None       # every source length in it > the longest training source; None: unknown

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "BucketRow":
        """A row from any mapping with the field names (numpy numbers and NaN included); other keys ignored."""
        missing = [key for key in ("bucket", "n") if key not in values]
        if missing:
            raise ValueError(f"a bucket row needs {' and '.join(missing)}; got keys {', '.join(map(str, values))}")
        return cls(bucket=str(values["bucket"]), lo=_int(values.get("lo")), hi=_int(values.get("hi")),
                   n=_int(values["n"]) or 0, **{m: _float(values.get(m)) for m in METRICS},
                   unseen=_bool(values.get("unseen")))

    def past_training(self, train_max_len: int | None) -> "BucketRow":
        """This row with `unseen` set from its run's longest training source: lo > train_max_len (every length
        in [lo, hi] is longer), or None when that length (or lo) is not known. The one place the rule is written."""
        known = train_max_len is not None and self.lo is not None
        return dataclasses.replace(self, unseen=self.lo > int(train_max_len) if known else None)

    def to_json(self) -> dict:
        """This row as the `--out` JSON has it (numbers rounded, NaN as null): one form for a fresh run
        (RunResult.summary) and a stored one (the CLI's stored_summary)."""
        return {k: json_number(v) for k, v in dataclasses.asdict(self).items()}

    def metrics(self) -> tuple:
        """The metric values in METRICS order."""
        return tuple(getattr(self, m) for m in METRICS)


# Fields every bucket frame has and the store keeps per bucket; OPTIONAL_BUCKET_COLUMNS are added to a
# frame only when some row knows them (a row read from the store does not), so older frames stay as they were.
OPTIONAL_BUCKET_COLUMNS = ("unseen",)
BUCKET_COLUMNS = tuple(f.name for f in dataclasses.fields(BucketRow) if f.name not in OPTIONAL_BUCKET_COLUMNS)
if BUCKET_COLUMNS[4:] != METRICS:
    raise RuntimeError(f"BucketRow needs one field per metric, in METRICS order: {METRICS}, has {BUCKET_COLUMNS[4:]}")


def bucket_frame(rows: Iterable[tuple[Mapping[str, Any], BucketRow]], identity: Sequence[str] = ()):
    """The tidy frame charts take: one line per (identity, row) pair, columns `identity` + BUCKET_COLUMNS.

    `identity` names the columns taken from each pair's mapping (run_id, variant, seed, ...). Metric
    columns are float, a missing value NaN, so an empty or gold-less column still plots and sorts.
    An OPTIONAL_BUCKET_COLUMNS column (`unseen`) follows when at least one row knows its value; rows
    that do not know hold False there (a bucket not known to be unseen is drawn as seen).
    """
    import pandas as pd
    rows = list(rows)
    optional = [c for c in OPTIONAL_BUCKET_COLUMNS if any(getattr(row, c) is not None for _, row in rows)]
    columns = [*identity, *BUCKET_COLUMNS, *optional]
    records = [[who[c] for c in identity] + [getattr(row, c) for c in BUCKET_COLUMNS]
               + [bool(getattr(row, c)) for c in optional] for who, row in rows]
    frame = pd.DataFrame(records, columns=columns)
    frame[list(METRICS)] = frame[list(METRICS)].astype(float)
    return frame


def _float(value) -> float | None:
    """A plain float; None and NaN become None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _bool(value) -> bool | None:
    """A plain bool; None and NaN (a frame's missing value) become None."""
    if value is None or value != value:
        return None
    return bool(value)


def _int(value) -> int | None:
    return None if value is None or value != value else int(value)


def json_number(v):
    """Numbers rounded for JSON; NaN (an empty bucket) and None become null; strings and bools stay."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if hasattr(v, "dtype") and v.dtype.kind == "b":
        return bool(v)
    if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
        return int(v)
    f = float(v)
    return None if f != f else round(f, 4)


@dataclass(frozen=True)
class RunRecord:
    """One stored run as `store.run(run_id)` reads it: every column of the store's `runs` table, with the
    JSON columns parsed, plus `progress` (DERIVED_RUN_FIELDS), which follows from the others.

    Times are epoch seconds (time.time()); a value not written yet is None (a queued run has no
    `started`, a training one no `bleu`). Field order is the table's column order, so `to_json()` has the
    keys, in the order, that the CLI has always printed (`runs export`). `store.progress(run_id)` returns
    the same record: one read of one row, and a watcher takes the fields it shows.
    tests/test_records.py checks the fields against the table's columns, so a new column cannot be forgotten.
    """

    id: str                          # 8 hex chars, chosen by the store
    name: str                        # shown on pages and in the CLI; renamable
    status: str                      # queued | running | done | failed | cancelled | interrupted
    error: str | None                # why a run ended other than done (or a note such as "stopped by request")
    task: str                        # built-in task name, or the imported corpus's file names
    variant: str                     # the model label (attn.config.MODEL_ORDER): "dot", "dec·rope", ...
    style: str                       # RNN decoder style: luong | bahdanau
    seed: int                        # initialisation and batch-order seed
    config: dict                     # RunConfig.to_dict() as stored (RunConfig.from_dict rebuilds it)
    config_key: str                  # RunConfig.key(): the run cache matches it with seed and code_version
    code_version: str                # attn.runs.version.code_version() of the code that made the run
    session: str | None              # the dashboard visitor who queued it; None for the CLI and scripts
    created: float                   # when it was queued
    started: float | None            # when a worker began training it
    finished: float | None           # when it ended, however it ended
    train_seconds: float | None      # wall time of training (done runs)
    eval_seconds: float | None       # wall time of the test evaluation (done runs)
    params: int | None               # trainable parameters
    overall: dict | None             # whole-test-set metrics and the training range (train_min_len, ...)
    bleu: float | None               # overall BLEU, kept as a column for sorting and listing
    weights: str | None              # file name of the state_dict under <home>/weights; None before done
    owner: str | None                # process token of the process that queued it (processes.process_token)
    pid: int | None                  # the worker process training it
    worker: str | None               # the worker's process token (process_alive tells whether it still runs)
    cancel: bool                     # a cancel was requested; the worker stops within a batch
    step: int | None                 # optimizer steps done
    total_steps: int | None          # optimizer steps planned
    epoch: int | None                # epochs done
    epochs: int | None               # epochs planned
    eta: float | None                # seconds of training left, as the worker last estimated them
    tokens_per_s: float | None       # training speed, target tokens per second
    heartbeat: float | None          # the worker's last sign of life
    progress: float | None           # derived: step / total_steps in 0..1, 1 when done, None when not known

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "RunRecord":
        """A record from one row of the `runs` table as {column: value}: JSON columns parsed, progress added.

        A column the record does not know, or a field missing from the row, is an error naming them."""
        stored = [f.name for f in dataclasses.fields(cls) if f.name not in DERIVED_RUN_FIELDS]
        extra, missing = set(row) - set(stored), [name for name in stored if name not in row]
        if extra or missing:
            raise ValueError(f"a run row must have the columns of RunRecord; unknown: {sorted(extra) or 'none'}, "
                             f"missing: {missing or 'none'}")
        values = {name: row[name] for name in stored}
        values["config"] = _parsed(values["config"])
        values["overall"] = _parsed(values["overall"]) if values["overall"] else None
        values["cancel"] = bool(values["cancel"])
        return cls(**values, progress=progress_fraction(values["step"], values["total_steps"], values["status"]))

    def to_json(self) -> dict:
        """This run as a dict of JSON-ready values, keys in field order (the CLI's `runs export` form)."""
        return {f.name: _copied(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @property
    def train_range(self) -> tuple[int | None, int | None]:
        """(shortest, longest) training source, kept with the overall metrics; (None, None) when not known."""
        overall = self.overall or {}
        return tuple(None if overall.get(k) is None else int(overall[k])  # stored as floats
                     for k in ("train_min_len", "train_max_len"))


DERIVED_RUN_FIELDS = ("progress",)  # RunRecord fields computed from the others, not columns of `runs`


def progress_fraction(step, total, status) -> float | None:
    """How far a run is, 0..1: 1 when done, step / total while known (None and NaN: not known)."""
    if status == "done":
        return 1.0
    if step is None or total is None or step != step or total != total or total <= 0:
        return None
    return min(1.0, step / total)


def _parsed(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _copied(value):
    """A deep copy of a JSON value, so a caller that edits `to_json()` cannot change the frozen record."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


# ------------------------------------------------------------------------------ checkpoints while training

@dataclass(frozen=True)
class BucketScore:
    """One source-length bucket's metrics at a checkpoint: greedy decodes of (a sample of) the validation
    split, the same metrics as the finished run's BucketRow (None where a metric has no value)."""

    label: str                       # the bucket's label, e.g. "5-9" (BucketRow.bucket)
    lo: int | None                   # shortest source length in the bucket
    hi: int | None                   # longest source length in the bucket
    n: int                           # validation sentences scored in the bucket
    bleu: float | None
    chrf: float | None = None
    exact: float | None = None
    token_acc: float | None = None
    align: float | None = None       # alignment score (%) of the teacher-forced attention, gold tasks only
    aer: float | None = None

    @classmethod
    def from_row(cls, row: BucketRow) -> "BucketScore":
        return cls(row.bucket, row.lo, row.hi, row.n, *row.metrics())


@dataclass(frozen=True, eq=False)
class ProbeMap:
    """One probe sentence's attention at a checkpoint: rows `tgt` (the reference words under teacher
    forcing; for a typed sentence, the model's own output then), columns `src`.

    weights: (T, S) float32, the cross-attention (head-averaged last layer for Transformers); None for a
    model without attention. alignment: share (0..1) of the rows whose highest weight is on a gold-aligned
    source word, None without gold alignments or without a map.
    """

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    weights: np.ndarray | None
    alignment: float | None = None

    def __post_init__(self):
        for name in ("src", "tgt"):
            tokens = getattr(self, name)
            if isinstance(tokens, str):
                raise TypeError(f"ProbeMap.{name} must be a sequence of tokens, got the string {tokens!r}")
            object.__setattr__(self, name, tuple(tokens))
        if self.weights is not None:
            if not isinstance(self.weights, np.ndarray) or self.weights.dtype != np.float32 or self.weights.ndim != 2:
                raise TypeError("ProbeMap.weights must be a 2-D numpy float32 array (T, S) or None, got "
                                f"{type(self.weights).__name__} {getattr(self.weights, 'dtype', '')}")
            if self.weights.shape != (len(self.tgt), len(self.src)):
                raise ValueError(f"ProbeMap.weights must be ({len(self.tgt)}, {len(self.src)}) for its tokens, "
                                 f"got {self.weights.shape}")

    def __eq__(self, other) -> bool:
        if not isinstance(other, ProbeMap):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    __hash__ = None


@dataclass(frozen=True)
class Checkpoint:
    """What a run looked like at one point of its training: its metric per length bucket and its probe maps.

    Made by the trainer (a TrainEvent of kind "checkpoint" carries one), kept by the store thinned to at
    most attn.training.checkpoints.MAX_CHECKPOINTS per run (first and last always), read back by
    `store.checkpoints(run_id)` in step order. The last one is taken after training ends, from the model
    the run stores, so its probe maps are the finished run's.
    """

    step: int                        # optimizer steps done
    epoch: float                     # epochs done, fractional between epoch ends (step / steps per epoch)
    seconds: float                   # training seconds so far (checkpoint time itself not counted)
    buckets: tuple[BucketScore, ...] = ()
    probes: tuple[ProbeMap, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "buckets", tuple(self.buckets))
        object.__setattr__(self, "probes", tuple(self.probes))

    @property
    def alignment(self) -> float | None:
        """Mean alignment (0..1) of the probe maps that have one; None when none has."""
        values = [p.alignment for p in self.probes if p.alignment is not None]
        return sum(values) / len(values) if values else None
