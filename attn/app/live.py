"""Checkpoints on the pages: the Train page's live length chart and newest probe map, the loss chart's
alignment marks, and Compare's by-length figure at any point of training (its slider).

Everything is read from the store (checkpoints come there from the workers as they train) and drawn with
the builders of attn.viz.charts through render.show_chart, so every chart has its PNG and SVG buttons.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from attn.app import frame, render
from attn.viz import charts, length, loss
from attn.viz.theme import present


def alignment_marks(store, run_ids) -> pd.DataFrame:
    """Per run, the first stored checkpoint whose probe maps reach 0.8 alignment with the gold links."""
    return loss.alignment_marks(store.checkpoint_alignment(list(run_ids)))


def show_progress(store, runs: pd.DataFrame, *, style: str, key: str) -> None:
    """BLEU by length at each run's newest checkpoint (one line per variant, growing as they train) and the
    newest probe map of one run, side by side. `runs`: rows of store.runs() (id, name, variant, seed)."""
    ids = list(runs["id"])
    rows = length.at_checkpoint(store.checkpoint_buckets(ids), runs)
    left, right = st.columns(2)
    with left:
        if rows.empty:
            st.caption("BLEU by sentence length appears here at the first checkpoint after training starts "
                       "(a validation sample, scored a few times per epoch).")
        else:
            render.show_chart(charts.metric_by_bucket, rows, "bleu", style=style, note=length.checkpoint_note(rows),
                              min_sentences=length.CHECKPOINT_MIN_SENTENCES, key=f"{key}.length",
                              name="bleu-by-length-while-training")
    with right:
        show_probe_map(store, runs, style=style, key=f"{key}.probe")


def show_probe_map(store, runs: pd.DataFrame, *, style: str, key: str) -> None:
    """The newest stored probe map of the chosen run (default: the first attention model): the longest
    validation probe, or the sentence typed on the Train page."""
    order = {label: i for i, label in enumerate(present(runs["variant"]))}
    ranked = runs.assign(rank=[order.get(v, 99) + (0 if v != "none" else 100) for v in runs["variant"]])
    ids = list(ranked.sort_values("rank", kind="stable")["id"])
    names = dict(zip(runs["id"], runs["name"]))
    frame.keep_valid(f"{key}_run", ids)
    run_id = st.selectbox("Probe map of", ids, format_func=names.get, key=f"{key}_run",
                          help="the attention of a probe sentence under teacher forcing at the newest checkpoint")
    checkpoint = store.checkpoint(run_id) if run_id else None
    if checkpoint is None or not checkpoint.probes or not checkpoint.buckets:  # not the untrained one (step 0)
        st.caption("The probe map appears at the run's first checkpoint after training starts.")
        return
    probe = checkpoint.probes[-1]  # the longest bucket's (or the typed one)
    if probe.weights is None:
        st.caption(f"{names[run_id]} has no attention, so no map: its decoder reads one fixed summary vector.")
        return
    aligned = "" if probe.alignment is None else f" · alignment {probe.alignment:.0%}"
    render.show_chart(charts.attention_heatmap, list(probe.src), list(probe.tgt), probe.weights,
                      title=f"{names[run_id]} · step {checkpoint.step:,}{aligned}", style=style, key=key,
                      name=f"probe-map-step-{checkpoint.step}")


def buckets_at_progress(store, runs: pd.DataFrame, *, key: str) -> tuple[pd.DataFrame, str]:
    """Compare's training-progress slider (shown when the runs stored checkpoints) and the bucket rows it
    picks -> (rows, note). At 100 % (the default, the end): the finished runs' test-set buckets and no note;
    earlier: each run's newest checkpoint at or before that share of its training (a validation sample),
    and the note saying so (length.checkpoint_note)."""
    ids = list(runs["id"])
    checkpoints = store.checkpoint_buckets(ids)
    if checkpoints.dropna(subset=["bucket"]).empty:
        return store.buckets(ids), ""
    percent = st.slider("Training progress (%)", 0, 100, 100, 5, key=f"{key}_slider",
                        help="100: the finished runs on the test set. Earlier: each run's newest checkpoint at or "
                             "before this share of its training, scored on a validation sample while it trained")
    if percent == 100:
        return store.buckets(ids), ""
    rows = length.at_checkpoint(checkpoints, runs, percent / 100)
    return rows, length.checkpoint_note(rows) if not rows.empty else f"no checkpoint with scores by {percent} %"


def checkpoint_options(note: str) -> dict:
    """metric_by_bucket's keywords for rows at a checkpoint (`note` non-empty), else none."""
    return {"note": note, "min_sentences": length.CHECKPOINT_MIN_SENTENCES} if note else {}
