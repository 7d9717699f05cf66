"""What the Sweep page does: queue a grid (attn.runs.sweep) as one study of kind "sweep", cancel what is
left of it, and read a stored sweep back as its cells and the tidy frame of its figure.

A sweep is held to the server's cell limit (ATTN_MAX_SWEEP_CELLS), not to the per-visitor queue limit
(ATTN_MAX_QUEUED, six by default, fewer than the capacity preset's 45 cells): instead, one visitor may have
one unfinished sweep at a time, so a class cannot fill the queue with sweeps. The admin rules apply as to
every click that trains (attn.app.admin).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from attn.app import state
from attn.app.admin import refusal
from attn.app.frame import guard
from attn.config import ConfigError
from attn.runs.runner import JobError
from attn.runs.store import ACTIVE, StoreError, Study
from attn.runs.sweep import Grid, cell_frame, sweep_points, swept_fields

URL_SWEEP = "sweep"   # ?sweep=<study id>: the sweep the page shows


@st.cache_resource(show_spinner=False)
def _sweeps_by_visitor() -> tuple[dict, threading.Lock]:
    """{visitor key: study id of their last sweep}, for this server process, and its lock."""
    return {}, threading.Lock()


@dataclass(frozen=True)
class Queued:
    """What one click on Queue sweep did."""

    study: str | None        # the sweep's study id, None when nothing was queued
    cells: int
    ready: int               # cells the store held already (answered at once)
    error: str | None        # why nothing was queued


def unfinished(study_id: str) -> int:
    """Cells of a sweep still queued or training."""
    store = state.store()
    try:
        ids = store.study(study_id).run_ids
    except StoreError:
        return 0
    return int(store.runs(status=list(ACTIVE))["id"].isin(ids).sum())


def queue_sweep(grid: Grid) -> Queued:
    """Check and queue every cell of `grid` in one request, and record them as a study of kind "sweep"."""
    refused = refusal("train")
    if refused:
        return Queued(None, 0, 0, refused)
    try:
        cells = grid.cells()
    except ConfigError as exc:
        return Queued(None, 0, 0, f"**Nothing was queued:** {exc}")
    visitor = state.session_id()
    mine, lock = _sweeps_by_visitor()
    with lock:
        previous = mine.get(visitor)
        left = unfinished(previous) if previous else 0
        if left:
            return Queued(None, 0, 0, f"**Nothing was queued:** your sweep {previous} still has {left} cells queued "
                                      "or training; one visitor may run one sweep at a time. Wait for it, or "
                                      "press Cancel the rest.")
        try:
            ids = state.runner().submit_many([cell.config for cell in cells])
            study = state.store().add_study(f"sweep: {grid.describe()}"[:200], "sweep", ids)
        except (JobError, ConfigError, StoreError) as exc:
            return Queued(None, 0, 0, f"**Nothing was queued:** {exc}")
        mine[visitor] = study
    ready = sum(state.store().status(run_id) == "done" for run_id in ids)
    return Queued(study, len(ids), ready, None)


def cancel_rest(study_id: str) -> None:
    """Button callback: cancel the sweep's cells still queued or training (the done ones stay)."""
    refused = refusal("cancel")
    if refused:
        st.session_state["notice"] = ("error", refused)
        return
    store = state.store()
    with guard("Cancelling the sweep"):
        active = store.runs(status=list(ACTIVE))
        ids = [rid for rid in active["id"] if rid in set(store.study(study_id).run_ids)]
        for run_id in ids:
            state.runner().cancel(run_id)
        st.session_state["notice"] = ("success", f"Cancelled {len(ids)} cell(s) of the sweep.")


@dataclass(frozen=True)
class StoredSweep:
    """A sweep read back from the store: its study, its swept fields and one row per cell."""

    study: Study
    fields: list[str]          # the fields whose values differ between its cells (attn.runs.sweep.swept_fields)
    cells: pd.DataFrame        # attn.runs.sweep.cell_frame: run_id, variant, seed, status, bleu, progress, fields
    configs: dict              # run id -> config dict

    @property
    def active(self) -> bool:
        return bool(self.cells["status"].isin(list(ACTIVE)).any())

    def points(self) -> pd.DataFrame:
        """The done cells' per-bucket rows with the swept values beside them (attn.viz.sweep's frame)."""
        done = list(self.cells.loc[self.cells["status"] == "done", "run_id"])
        if not done:
            return pd.DataFrame()
        return sweep_points(self.cells, state.store().buckets(done), self.fields)


def sweep_studies() -> pd.DataFrame:
    """The stored sweeps, newest first: id, name, kind, created, runs."""
    return state.store().studies("sweep")


def load(study_id: str) -> StoredSweep:
    """The sweep `study_id` as it stands now; an unknown id raises StoreError naming it."""
    store = state.store()
    study = store.study(study_id)
    configs = store.configs(list(study.run_ids))
    fields = swept_fields(configs)
    return StoredSweep(study, fields, cell_frame(store.runs(), configs, fields, order=study.run_ids), configs)
