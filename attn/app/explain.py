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

from attn.app import state
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
