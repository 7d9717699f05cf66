"""Every head of a Transformer: a layers x heads grid of attention maps, the head average, and a
per-head summary (entropy against mean attention distance) that shows heads specialising
(Clark et al. 2019; Voita et al. 2019).

Inputs are plain arrays, as attn.nn.heads.HeadMaps holds them: weights (layers, heads, rows, cols) of
one kind (encoder self-, decoder self- or cross-attention) and the tokens of the rows and columns.
The cells, colour scale and token axes are those of attn.viz.maps, so a head reads like the map of
the Attention page.
"""
from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from attn.viz.maps import as_matrix, cell_pixels, label_expr, weight_scale, x_token_axis, attention_heatmap
from attn.viz.theme import inline_data, message_chart, require_columns, styled, theme

# the three kinds of attention, in the order they are listed, with their names on the charts
KIND_LABELS = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
               "cross": "cross-attention"}
# Okabe-Ito colours the variants do not use (attn.viz.theme.VARIANT_COLORS), one per kind
KIND_COLORS = {"encoder": "#56B4E9", "decoder": "#CC79A7", "cross": "#000000"}
KIND_SHAPES = {"encoder": "circle", "decoder": "square", "cross": "triangle-up"}
# Data width all the heads of one layer may take together: the page's main column at a 1600 px window,
# less each panel's spacing and the row axis. Past it a grid is cut off at the page's edge.
GRID_PX = 1000
MIN_CELL_PX = 3    # a grid of many heads over a long sentence: small unlabelled cells, not a clipped chart


def _heads_array(weights, rows: Sequence[str], cols: Sequence[str], builder: str) -> np.ndarray:
    array = as_matrix(weights)
    if array.ndim != 4 or array.shape[2:] != (len(rows), len(cols)):
        raise ValueError(f"{builder}: weights must be (layers, heads, {len(rows)}, {len(cols)}) for "
                         f"{len(rows)} row and {len(cols)} column tokens, got {array.shape}")
    return array


def _axis_titles(kind: str) -> tuple[str, str]:
    """(columns, rows) of a kind: encoder self source x source, decoder self output x output, cross source x output."""
    return ("output" if kind == "decoder" else "source", "source" if kind == "encoder" else "output")


def head_grid(row_tokens: Sequence[str], col_tokens: Sequence[str], weights, kind: str = "cross",
              title: str = "", style: str = "screen"):
    """weights (layers, heads, rows, cols) -> one small map per head: a row of panels per layer, a
    column per head, all on the one 0..1 colour scale. kind names the attention in the title."""
    th = theme(style)
    if kind not in KIND_LABELS:
        raise ValueError(f"head_grid: kind must be one of {', '.join(KIND_LABELS)}, got {kind!r}")
    rows, cols = [str(t) for t in row_tokens], [str(t) for t in col_tokens]
    array = _heads_array(weights, rows, cols, "head_grid")
    layers, heads = array.shape[:2]
    if array.size == 0:
        return message_chart("empty sentence", style)
    l_idx, h_idx, t_idx, s_idx = np.indices(array.shape)
    cells = pd.DataFrame({"layer": l_idx.ravel() + 1, "head": h_idx.ravel() + 1, "t": t_idx.ravel(),
                          "s": s_idx.ravel(), "weight": array.ravel()})
    cells["column token"] = [cols[s] for s in cells["s"]]
    cells["row token"] = [rows[t] for t in cells["t"]]
    # a cell per token, as large as the maps (cell_pixels) but within GRID_PX for the row of heads; when
    # that leaves no room for a line of label text, the tokens go unlabelled (the head average names them)
    cell = max(MIN_CELL_PX, min(cell_pixels(len(cols), len(rows), th, budget=1.0 / max(heads, 1)),
                                GRID_PX // max(heads * len(cols), 1)))
    labelled = cell >= th.cell_min
    x_title, y_title = _axis_titles(kind)
    tooltip = [alt.Tooltip("layer:O"), alt.Tooltip("head:O"), alt.Tooltip("row token:N", title=y_title),
               alt.Tooltip("column token:N", title=x_title), alt.Tooltip("weight:Q", format=".3f")]
    panel = alt.Chart().mark_rect().encode(
        x=alt.X("s:O", sort="ascending", axis=x_token_axis(cols, cell, th, x_title) if labelled else
                alt.Axis(title=x_title, orient="top", labels=False, ticks=False, domain=False)),
        y=alt.Y("t:O", sort="ascending", axis=alt.Axis(title=y_title, labelExpr=label_expr(rows), labels=labelled,
                                                       labelOverlap=False, labelLimit=th.label_limit,
                                                       ticks=False, domain=False)),
        color=alt.Color("weight:Q", scale=weight_scale(), legend=alt.Legend(title="weight")),
        tooltip=tooltip).properties(width=alt.Step(cell), height=alt.Step(cell))
    label = title or f"{KIND_LABELS[kind]}: {layers} layer{'s' * (layers > 1)} x {heads} head{'s' * (heads > 1)}"
    chart = alt.layer(panel, data=inline_data(cells)).facet(
        row=alt.Row("layer:O", title="layer", header=alt.Header(labelAngle=0)),
        column=alt.Column("head:O", title="head"), spacing=8,
    ).properties(title=alt.TitleParams(label, subtitle="each row sums to 1; darker = more weight" + (
        "" if labelled else f"; {len(cols)} words are too many to name in every head: the head average names them")))
    return styled(chart, style)


def head_average(row_tokens: Sequence[str], col_tokens: Sequence[str], weights, layer: int = -1,
                 kind: str = "cross", gold=None, title: str = "", style: str = "screen"):
    """The mean over the heads of one layer (default the last), drawn as an attention map; for the last
    layer's cross-attention this is the map the Attention page draws for a Transformer."""
    array = _heads_array(weights, [str(t) for t in row_tokens], [str(t) for t in col_tokens], "head_average")
    if not -array.shape[0] <= layer < array.shape[0]:
        raise ValueError(f"head_average: layer {layer} is out of range for {array.shape[0]} layers "
                         f"(0..{array.shape[0] - 1}, or -1 for the last)")
    number = layer % array.shape[0] + 1
    label = title or f"{KIND_LABELS.get(kind, kind)}, layer {number}: mean of {array.shape[1]} heads"
    return attention_heatmap(col_tokens, row_tokens, array[layer].mean(axis=0), gold=gold, title=label,
                             style=style, axis_titles=_axis_titles(kind))


def head_summary(stats: pd.DataFrame, n_keys: int | None = None, style: str = "screen", width: int | None = None):
    """One point per head: entropy (nats) across, mean attention distance (positions) up; colour and
    shape say the kind of attention, the label says layer and head (L2·H3).

    stats: columns kind, layer, head, entropy, distance (attn.nn.heads.head_stats as a frame).
    n_keys: the sentence's length, to mark log n, the entropy of a head spread evenly over n words.
    width: of the data area, px (default the style's); the legend sits below it, so the chart fits beside a grid.
    """
    th = theme(style)
    require_columns(stats, ["kind", "layer", "head", "entropy", "distance"], "head_summary")
    if stats.empty:
        return message_chart("no heads to summarise", style)
    frame = stats.assign(label=[f"L{int(layer)}·H{int(head)}" for layer, head in zip(stats["layer"], stats["head"])],
                         attention=[KIND_LABELS.get(k, str(k)) for k in stats["kind"]])
    kinds = [k for k in KIND_LABELS if k in set(frame["kind"])]
    domain = [KIND_LABELS[k] for k in kinds]
    enc = dict(x=alt.X("entropy:Q", title="entropy of the head's rows (nats; 0 = one word)", scale=alt.Scale(zero=True)),
               y=alt.Y("distance:Q", title="mean attention distance Σ α_ij·|i−j| (positions)", scale=alt.Scale(zero=True)),
               tooltip=[alt.Tooltip("attention:N"), alt.Tooltip("layer:O"), alt.Tooltip("head:O"),
                        alt.Tooltip("entropy:Q", format=".3f"), alt.Tooltip("distance:Q", format=".2f")])
    color = alt.Color("attention:N", title=None, sort=domain, legend=alt.Legend(orient="bottom", direction="vertical"),
                      scale=alt.Scale(domain=domain, range=[KIND_COLORS[k] for k in kinds]))
    shape = alt.Shape("attention:N", title=None, sort=domain, legend=alt.Legend(orient="bottom", direction="vertical"),
                      scale=alt.Scale(domain=domain, range=[KIND_SHAPES[k] for k in kinds]))
    base = alt.Chart(inline_data(frame)).encode(**enc)
    layers = [base.mark_point(filled=True, opacity=0.9, size=th.point * 2).encode(color=color, shape=shape),
              base.mark_text(align="left", dx=7, dy=-6, fontSize=th.label, color="gray").encode(text="label:N")]
    if n_keys and n_keys > 1:
        level = pd.DataFrame({"x": [math.log(n_keys)], "label": [f"uniform over {n_keys} words: log {n_keys}"]})
        ref = alt.Chart(inline_data(level))
        layers += [ref.mark_rule(color="gray", strokeDash=[2, 2]).encode(x="x:Q"),
                   ref.mark_text(align="left", angle=270, baseline="bottom", dx=4, dy=-4, fontSize=th.label,
                                 color="gray").encode(x="x:Q", y=alt.value(th.height), text="label:N")]
    chart = alt.layer(*layers).properties(
        width=width or th.width, height=th.height,
        title=alt.TitleParams("What each head does: how spread out, how far it looks",
                              subtitle="low entropy and distance 0: a head on its own position; "
                                       "high entropy: a head spread over the sentence"))
    return styled(chart, style)
