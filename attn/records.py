"""The names and records every layer shares, importable without torch or Streamlit.

One list of metrics, defined once: evaluation computes them, the store keeps a column per metric, and
charts and pages label them from here.

One type per thing, the same from where it is made to where it is drawn:
    Decode      one test sentence as a model translated it, with its attention
                (evaluation -> RunResult -> store.decodes -> Attention page, CLI figures)
    BucketRow   one source-length bucket's metrics of one run
                (RunResult.buckets -> store.bucket_rows -> bucket_frame -> Compare page, CLI)
Attention matrices are numpy float32 arrays; evaluation converts its tensors once, where it makes
them. Charts take tidy DataFrames, and `bucket_frame` is the one place bucket rows become one.
"""
from __future__ import annotations

import dataclasses
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
