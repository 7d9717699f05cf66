"""What the Attention and Heads pages compute from a trained model: saliency beside attention, and every
head of a Transformer. Each result is kept per run and sentence for every visitor (read only).

    saliency_map      (T, S) gradient x input of each output word (attn.nn.saliency), for any model
    explain_rows      per variant: its attention panel, its saliency panel and Spearman's rho per row
    rho_table         the rank correlations as a table (one row per variant)
    sentence_heads    attn.nn.heads.HeadMaps of one Transformer run reading a sentence

Only these functions import torch, and only when called: a page that never asks stays torch-free
(tests/app/test_torch_free.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import streamlit as st

from attn.app import frame, state
from attn.data.text import EOS
from attn.records import Decode
from attn.viz import support as ds

SALIENCY_NOTE = ("Saliency: gradient × input of each output word's log-probability with respect to the source "
                 "embeddings, ‖∂log p(y_t)/∂e_j ⊙ e_j‖₂, normalised per output row so it reads like attention "
                 "(Simonyan et al. 2014; Shrikumar et al. 2017). ρ: Spearman's rank correlation of a row of "
                 "attention with the same row of saliency (Jain & Wallace 2019: is attention an explanation?).")


@st.cache_resource(show_spinner="Computing saliency (gradient × input)…", max_entries=256)
def saliency_map(path: str, run_id: str, src: tuple, out: tuple) -> np.ndarray:
    """(T, S) float32: run `run_id`'s saliency while reading the output tokens `out` (a last "</s>" is the
    end-of-sentence step) after the source tokens `src`; each row sums to 1. Imports torch."""
    if not out:  # an output with no step at all (not even </s>): nothing to read back
        return np.zeros((0, len(src)), dtype=np.float32)
    from attn.data.text import EOS_ID
    from attn.nn.saliency import sequence_saliency
    model, src_vocab, tgt_vocab, _ = state.load_model(path, run_id)
    with_eos = bool(out) and out[-1] == EOS
    words = list(out[:-1] if with_eos else out)
    out_ids = tgt_vocab.encode(words) + ([EOS_ID] if with_eos else [])
    return sequence_saliency(model, src_vocab.encode(list(src)), out_ids)


def read_tokens(decode: Decode, view: str, weights: np.ndarray | None) -> list[str]:
    """The rows the saliency map reads: the reference (view "reference", rows of Decode.forced), else the
    model's output with its </s> step (the attention's rows when it has one; always for a model without)."""
    if view == "reference":
        return list(decode.ref)
    if weights is None:
        return [*decode.hyp, EOS]
    return ds.out_tokens(decode.hyp, weights)


@dataclass(frozen=True)
class ExplainRow:
    """One variant on the Attention page: attention and saliency of the same rows, and how they agree."""

    variant: str
    panels: list            # attention_grid items: its attention (weights None without) and its saliency
    rho: np.ndarray | None  # (T,) Spearman's rho per output row; None without attention

    @property
    def mean_rho(self) -> float | None:
        """The mean over the rows where rho is defined, or None."""
        if self.rho is None or np.isnan(self.rho).all():
            return None
        return float(np.nanmean(self.rho))


def explain_rows(path: str, run_of: Mapping[str, str], decodes: Mapping[str, Decode], items: list[dict],
                 without: Mapping[str, Decode], view: str) -> list[ExplainRow]:
    """Per variant of `decodes` (in their order): its attention panel and its saliency panel.

    items, without: ds.attention_items(decodes, view, gold), the panels possibly changed since (a
    Transformer's layer); items are the variants of `decodes` not in `without`, in order. run_of: variant ->
    run id. Saliency reads the same rows as the attention shown; rho compares the two row by row.
    """
    from attn.nn.saliency import rank_correlation
    shown = dict(zip([v for v in decodes if v not in without], items))
    rows = []
    for variant, decode in decodes.items():
        attention = shown.get(variant)
        out = attention["out_tokens"] if attention else read_tokens(decode, view, None)
        sal = saliency_map(path, run_of[variant], tuple(decode.src), tuple(out))                   # (T, S)
        if attention is None:  # drawn as a note in the map's place, so every variant's saliency lines up
            attention = {"title": f"{variant} · no attention", "src_tokens": list(decode.src), "out_tokens": out,
                         "weights": None, "gold": None}
            rho = None
        else:
            rho = rank_correlation(np.asarray(attention["weights"]), sal)                       # (T,)
        mean = ExplainRow(variant, [], rho).mean_rho
        note = "" if rho is None else (f" · mean ρ = {mean:.2f}" if mean is not None else " · ρ undefined")
        saliency_item = {"title": f"{variant} · saliency{note}", "src_tokens": list(decode.src),
                         "out_tokens": list(out), "weights": sal, "gold": attention.get("gold")}
        rows.append(ExplainRow(variant, [attention, saliency_item], rho))
    return rows


def rho_table(rows: list[ExplainRow]) -> pd.DataFrame:
    """variant, mean rho, rows compared and rho per output row (a list, drawn as bars), one row per variant
    with attention; a variant without attention has no rho."""
    return pd.DataFrame([{"variant": r.variant, "mean ρ": r.mean_rho,
                          "rows": int(np.isfinite(r.rho).sum()),
                          "ρ per output row": [None if np.isnan(v) else round(float(v), 3) for v in r.rho]}
                         for r in rows if r.rho is not None],
                        columns=["variant", "mean ρ", "rows", "ρ per output row"])


# ------------------------------------------------------------------ a Transformer's heads (Heads page)

@st.cache_resource(show_spinner="Reading every head…", max_entries=64)
def sentence_heads(path: str, run_id: str, src: tuple, ref: tuple):
    """attn.nn.heads.HeadMaps of the Transformer `run_id` reading the reference `ref` (+ </s>) after `src`.
    Imports torch."""
    from attn.nn.heads import reference_head_maps
    model, src_vocab, tgt_vocab, _ = state.load_model(path, run_id)
    return reference_head_maps(model, src_vocab.encode(list(src)), tgt_vocab.encode(list(ref)))


def head_stats_frame(maps) -> pd.DataFrame:
    """attn.nn.heads.head_stats as the summary chart's frame: kind, layer, head, entropy, distance."""
    from attn.nn.heads import head_stats
    return pd.DataFrame([vars(s) for s in head_stats(maps)], columns=["kind", "layer", "head", "entropy", "distance"])


HEADS_ONLY_TRANSFORMERS = (
    "Heads exist only in the **Transformer family**. An RNN model (none, additive, dot, general) has one "
    "attention per output step, with no layers or heads; its map is on the **Attention** page. To see heads "
    "specialise, train a Transformer: on **Train** (in the sidebar), choose the model family *Transformer*.")


def transformer_runs(snap: state.Snapshot) -> list[str]:
    """Ids of the done Transformer runs, newest first."""
    return [rid for rid in snap.done["id"] if snap.configs[rid]["model"].get("family") == "transformer"]


def head_tokens(kind: str, src, ref) -> tuple[list[str], list[str]]:
    """(row tokens, column tokens) of one kind of attention while a model reads `ref` + </s> after `src`:
    encoder self (S, S) source over source; decoder self (T, T) each decoder input (<s>, then the reference)
    over the inputs so far; cross (T, S) each output word (the reference, then </s>) over the source."""
    from attn.data.text import BOS
    inputs, outputs = [BOS, *ref], [*ref, EOS]
    return {"encoder": (list(src), list(src)), "decoder": (inputs, inputs), "cross": (outputs, list(src))}[kind]


# ------------------------------------------------------------------ attention while the runs trained

PLAY_SECONDS = 0.8   # how long the player shows each checkpoint


@st.cache_resource(show_spinner=False, max_entries=32)
def checkpoints(path: str, run_id: str) -> tuple:
    """The stored checkpoints (attn.records.Checkpoint) of a finished run, by step: read only."""
    return tuple(state.store().checkpoints(run_id))


def with_probe_maps(by_label: Mapping[str, tuple]) -> dict[str, tuple]:
    """The runs (label -> checkpoints) whose newest checkpoint holds an attention map of some probe."""
    return {label: cps for label, cps in by_label.items()
            if cps and any(p.weights is not None for p in cps[-1].probes)}


def probe_steps(by_label: Mapping[str, tuple]) -> list[int]:
    """Every checkpoint step of any of the runs, in order: the player's positions."""
    return sorted({int(c.step) for cps in by_label.values() for c in cps})


def at_step(cps, step: int):
    """The newest checkpoint at or before `step` (a run that had not reached it yet shows its first)."""
    before = [c for c in cps if c.step <= step]
    return before[-1] if before else cps[0]


def next_step(steps: list[int], current: int | None) -> int:
    """The step after `current`, back to the first after the last (the player loops)."""
    if current not in steps:
        return steps[0]
    return steps[(steps.index(current) + 1) % len(steps)]


def probe_items(by_label: Mapping[str, tuple], probe: int, step: int) -> list[dict]:
    """attention_grid panels: each run's map of probe `probe` at its checkpoint for `step`, titled with
    that checkpoint's step and the map's alignment with the gold links where known."""
    items = []
    for label, cps in by_label.items():
        checkpoint = at_step(cps, step)
        if probe >= len(checkpoint.probes) or checkpoint.probes[probe].weights is None:
            continue
        p = checkpoint.probes[probe]
        aligned = "" if p.alignment is None else f" · {p.alignment:.0%} on gold"
        items.append({"title": f"{label} · step {checkpoint.step:,}{aligned}", "src_tokens": list(p.src),
                      "out_tokens": list(p.tgt), "weights": p.weights, "gold": None})
    return items


def training_animation(by_label: Mapping[str, tuple], probe: int, style: str, kind: str = "gif") -> bytes:
    """Every step's probe maps side by side as an animated GIF (or an MP4), the step written on each frame."""
    from attn.viz import animate
    from attn.viz import charts
    steps = probe_steps(by_label)
    frames = animate.render_frames([(step, charts.attention_grid(probe_items(by_label, probe, step), style=style))
                                    for step in steps])
    return animate.to_gif(frames, PLAY_SECONDS) if kind == "gif" else animate.to_mp4(frames, PLAY_SECONDS)


def training_player(path: str, run_of: Mapping[str, str], detok, style: str) -> None:
    """The Attention page's player: a probe sentence's attention in every run at a checkpoint chosen on a
    slider, Play to step through them (a fragment that reruns every PLAY_SECONDS), GIF/MP4 downloads."""
    from attn.viz import animate, charts
    from attn.app import render
    st.subheader("While they trained")
    by_label = with_probe_maps({label: checkpoints(path, rid) for label, rid in run_of.items()})
    if not by_label:
        st.caption("No attention maps were stored while these runs trained (runs from before checkpoints, with "
                   "checkpoints off, or without attention).")
        return
    probes = next(iter(by_label.values()))[-1].probes
    options = [i for i, p in enumerate(probes) if p.weights is not None]
    top = st.columns([4, 1, 2])
    frame.keep_valid("attention.probe", options)  # another comparison's probes: back to the first
    probe = top[0].selectbox("Probe sentence (read under teacher forcing at every checkpoint)", options,
                             key="attention.probe", format_func=lambda i: f"{len(probes[i].src)} tokens · "
                                                                          f"{detok(probes[i].src)}")
    playing = top[1].toggle("Play", key="attention.play", help="step through the checkpoints, looping")
    steps = probe_steps(by_label)

    def player():
        key = "attention.checkpoint"
        if st.session_state.get(key) not in steps:
            st.session_state[key] = steps[-1]
        elif playing:
            st.session_state[key] = next_step(steps, st.session_state[key])
        step = st.select_slider("Checkpoint", steps, key=key, format_func=lambda s: f"step {s:,}")
        render.show_chart(charts.attention_grid, probe_items(by_label, probe, step), style=style,
                          key="attention.training", name=f"attention-step-{step}")

    st.fragment(player, run_every=PLAY_SECONDS if playing else None)()
    with top[2].container(horizontal=True, gap="small"):
        st.download_button("GIF", data=lambda: training_animation(by_label, probe, style), mime="image/gif",
                           file_name=f"attention-forming-probe{probe}.gif", key="attention.training_gif_download",
                           on_click="ignore", icon=":material/animation:",
                           help="every checkpoint as an animated GIF for a slide, the step on each frame")
        if animate.mp4_encoder():
            st.download_button("MP4", data=lambda: training_animation(by_label, probe, style, "mp4"),
                               mime="video/mp4", file_name=f"attention-forming-probe{probe}.mp4",
                               key="attention.training_mp4_download", on_click="ignore", icon=":material/movie:")
        else:
            st.caption("MP4 needs imageio-ffmpeg")
