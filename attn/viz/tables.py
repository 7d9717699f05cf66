"""Runs as the pages' tables: the Runs page's columns and filters, counts per status, recent runs, curve rows."""
from __future__ import annotations

import time
from typing import Iterable

import pandas as pd

from attn.runs.store import STATUSES

RUN_COLUMNS = ["name", "status", "task", "variant", "style", "seed", "bleu", "progress", "created", "finished",
               "train_seconds", "params", "id", "error"]


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The Runs page's table: the columns people read, in reading order."""
    return runs[[c for c in RUN_COLUMNS if c in runs.columns]].reset_index(drop=True)


def filter_runs(runs: pd.DataFrame, status: Iterable[str] = (), task: Iterable[str] = (),
                variant: Iterable[str] = ()) -> pd.DataFrame:
    """Rows matching every non-empty filter (an empty filter keeps everything)."""
    keep = pd.Series(True, index=runs.index)
    for column, values in (("status", status), ("task", task), ("variant", variant)):
        values = list(values)
        if values:
            keep &= runs[column].isin(values)
    return runs[keep]


def status_counts(runs: pd.DataFrame) -> dict[str, int]:
    """Runs per status, in the store's order of statuses, zero counts left out."""
    counts = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
    return {s: int(counts[s]) for s in STATUSES if s in counts and counts[s] > 0}


def recent(runs: pd.DataFrame, seconds: float = 600.0, now: float | None = None) -> pd.DataFrame:
    """Finished runs whose end lies within the last `seconds` (newest first)."""
    if runs.empty:
        return runs
    now = time.time() if now is None else now
    finished = pd.to_datetime(runs["finished"], errors="coerce")
    cutoff = pd.Timestamp.fromtimestamp(now - seconds)
    return runs[finished.notna() & (finished >= cutoff)].sort_values("finished", ascending=False)


def curves_frame(steps: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Step and epoch rows of store.curves in one frame with a `kind` column (what charts expect)."""
    frames = [f.assign(kind=k) for f, k in ((steps, "step"), (epochs, "epoch")) if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=[*steps.columns, "kind"]) if steps is not None else pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
