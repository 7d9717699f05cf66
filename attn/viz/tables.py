"""Runs as the pages' tables: the Runs page's columns and filters, counts per status, recent runs, curve rows,
and the caption saying how their BLEU and chrF were computed."""
from __future__ import annotations

import time
from typing import Iterable

import pandas as pd

from attn.data.scoring import run_signatures, signature_note
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


def scoring_caption(runs: Iterable) -> str:
    """The line under a BLEU/chrF table or chart: how the scores of `runs` (records with .overall and .config,
    as store.run gives them) were computed -- sacrebleu's signatures, each distinct one once (a word-level
    and a character-level run differ in BLEU's tokenizer). Signatures the store did not keep are this
    code's settings for the run's level, and the caption says so. "" without runs."""
    notes: dict[str, bool] = {}
    for run in runs:
        level = ((getattr(run, "config", None) or {}).get("data") or {}).get("level", "word")
        found, stored = run_signatures(getattr(run, "overall", None), level)
        notes[signature_note(found)] = notes.get(signature_note(found), True) and stored
    return "Scored with " + " · ".join(note + ("" if stored else " (this code's settings: not stored with the runs)")
                                       for note, stored in notes.items()) if notes else ""
