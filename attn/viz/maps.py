"""Matrices as coloured cells: attention heatmaps and grids, small matrices (Playground), and the
softmax entropy against the dimension d (why dot products are scaled by 1/sqrt(d)).
"""
from __future__ import annotations

import json
import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from attn.viz.theme import (DIVERGING_SCHEME, GOLD_COLOR, HEATMAP_DOMAIN, HEATMAP_RANGE, PLAYGROUND_COLORS, Theme,
                            inline_data, message_chart, message_panel, require_columns, styled, theme)


def as_matrix(weights) -> np.ndarray:
    """Weights (an array, nested lists or a torch tensor) as float64 numbers."""
    if hasattr(weights, "detach"):  # a torch tensor, without importing torch here
        weights = weights.detach().cpu().float().numpy()
    return np.asarray(weights, dtype=np.float64)


def label_expr(labels: Sequence[str]) -> str:
    """Vega expression mapping an index tick to its token, so repeated tokens stay separate columns."""
    # JSON string literals are Vega expression literals, except for raw U+2028/U+2029, which must be escaped.
    literal = json.dumps([str(t) for t in labels], ensure_ascii=False)
    return literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "[datum.value]"


def cell_pixels(n_cols: int, n_rows: int, th: Theme, budget: float = 1.0) -> int:
    """Pixels per token: large for short sentences, never below one line of label text."""
    fit = int(th.width * budget / max(n_cols, n_rows, 1))
    return max(th.cell_min, min(th.cell_max, fit))


def x_token_axis(labels: Sequence[str], cell: int, th: Theme, title: str) -> alt.Axis:
    # -45 degree labels need ~1.5 font heights of step to clear each other; -90 needs one. The cell
    # size guarantees that spacing, so overlap removal stays off: Vega's bounding boxes of rotated
    # labels overlap even when the text does not, and it would drop every other source word.
    angle = -45 if cell >= 1.5 * th.label + 2 else -90
    return alt.Axis(title=title, orient="top", labelExpr=label_expr(labels), labelAngle=angle,
                    labelAlign="left", labelBaseline="middle", labelOverlap=False,
                    labelLimit=th.label_limit, labelPadding=4, ticks=False, domain=False)


def _y_token_axis(labels: Sequence[str], th: Theme, title: str) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=label_expr(labels), labelOverlap=False,
                    labelLimit=th.label_limit, ticks=False, domain=False)


def weight_scale() -> alt.Scale:
    """The colour scale of attention weights, 0..1, shared by every heatmap."""
    return alt.Scale(domain=HEATMAP_DOMAIN, range=HEATMAP_RANGE, clamp=True, interpolate="lab")


def _heatmap(src_tokens, out_tokens, weights, gold, title: str, th: Theme, style: str, budget: float = 1.0,
             in_grid: bool = False, axis_titles: tuple[str, str] = ("source", "output")):
    src_tokens, out_tokens = [str(t) for t in src_tokens], [str(t) for t in out_tokens]
    if weights is None:
        return message_panel("this model has no attention weights", style, width=th.width // 2,
                        height=th.height // 3, title=title)
    matrix = as_matrix(weights)
    if matrix.ndim != 2 or matrix.shape != (len(out_tokens), len(src_tokens)):
        raise ValueError(f"attention_heatmap: weights must be (T, S) = ({len(out_tokens)}, {len(src_tokens)}) "
                         f"for {len(out_tokens)} output and {len(src_tokens)} source tokens, got {matrix.shape}")
    if matrix.size == 0:
        return message_panel("empty sentence", style, width=th.width // 2, height=th.height // 3, title=title)
    gold = {(int(t), int(s)) for t, s in (gold or ())}
    t_idx, s_idx = np.indices(matrix.shape)
    cells = pd.DataFrame({"t": t_idx.ravel(), "s": s_idx.ravel(), "weight": matrix.ravel()})
    cells["source"] = [src_tokens[s] for s in cells["s"]]
    cells["output"] = [out_tokens[t] for t in cells["t"]]
    cells["gold"] = [(t, s) in gold for t, s in zip(cells["t"], cells["s"])]
    cell = cell_pixels(len(src_tokens), len(out_tokens), th, budget)
    x = alt.X("s:O", sort="ascending", axis=x_token_axis(src_tokens, cell, th, axis_titles[0]))
    y = alt.Y("t:O", sort="ascending", axis=_y_token_axis(out_tokens, th, axis_titles[1]))
    tooltip = [alt.Tooltip("source:N"), alt.Tooltip("output:N"), alt.Tooltip("weight:Q", format=".3f"),
               alt.Tooltip("s:O", title="source position"), alt.Tooltip("t:O", title="output position")]
    rect = alt.Chart().mark_rect().encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("weight:Q", scale=weight_scale(),
                        legend=alt.Legend(title="weight", gradientLength=max(80, min(200, cell * len(out_tokens))))))
    layers = [rect]
    subtitle = None
    if gold:
        layers.append(alt.Chart().transform_filter("datum.gold").mark_square(
            filled=False, opacity=1, color=GOLD_COLOR, strokeWidth=max(1.5, th.line * 0.6), size=(cell * 0.62) ** 2)
            .encode(x=x, y=y, tooltip=tooltip))
        subtitle = "outlined: gold alignment"
    elif in_grid:
        subtitle = " "  # keeps the panel's title block as tall as its neighbours' with a gold note
    params = alt.TitleParams(title, subtitle=subtitle) if subtitle else alt.TitleParams(title)
    return alt.layer(*layers, data=inline_data(cells)).properties(width=alt.Step(cell), height=alt.Step(cell), title=params)


def attention_heatmap(src_tokens: Sequence[str], out_tokens: Sequence[str], weights, gold=None,
                      title: str = "", style: str = "screen", axis_titles: tuple[str, str] = ("source", "output")):
    """Attention weights (T, S): source tokens across the top in sentence order, output down the side.

    weights: (T, S) array or tensor, row t = where output token t looked (None: a model without
    attention, drawn as a note). gold: optional set of (t, s) pairs, outlined. axis_titles: (columns, rows),
    e.g. ("source", "source") for a Transformer's encoder self-attention. Each token gets a
    fixed-size cell, so a 50-word sentence makes a wider chart rather than unreadable labels.
    """
    th = theme(style)
    return styled(_heatmap(src_tokens, out_tokens, weights, gold, title, th, style, axis_titles=axis_titles), style)


COLUMN_PX = 1200     # the page's main column in a 1,600 px window (wide layout, sidebar open), less margins
LEGEND_PX = 90       # the shared weight legend beside the last map of a row
GRID_SPACING = 30    # px between maps


def panel_width(src_tokens: Sequence[str], out_tokens: Sequence[str], th: Theme, budget: float) -> int:
    """About how wide one map of a grid is drawn, px: its cells, the output-token labels on its left with
    the axis title, and the slanted source labels reaching past its last column."""
    def text_px(tokens):  # ~0.6 em per character, cut at the axis's label limit
        return min(th.label_limit, int(0.6 * th.label * max((len(str(t)) for t in tokens), default=0)) + 8)
    return (cell_pixels(len(src_tokens), len(out_tokens), th, budget) * len(src_tokens) + text_px(out_tokens)
            + 2 * th.axis_title + int(0.7 * text_px(src_tokens[-1:])))


def attention_grid(items: Sequence[dict], style: str = "screen", width: int | None = COLUMN_PX):
    """Several heatmaps with one shared colour scale (0..1): side by side while they fit in `width` px,
    else wrapped, as many per row as fit (at least one), so nothing is reached by scrolling sideways.

    items: dicts with keys title, src_tokens, out_tokens, weights and optionally gold. width=None never
    wraps. Cells keep their size when wrapping, so the PNG of a wrapped grid is full size.
    """
    th = theme(style)
    if not items:
        return message_chart("nothing to compare yet", style)
    budget = 1.0 / min(len(items), 3) * 1.4
    panels = [_heatmap(it["src_tokens"], it["out_tokens"], it.get("weights"), it.get("gold"),
                       it.get("title", ""), th, style, budget, in_grid=True) for it in items]
    widths = [panel_width(it["src_tokens"], it["out_tokens"], th, budget) for it in items]
    per_row = per_row_fitting(widths, width)
    if per_row >= len(panels):
        grid = alt.hconcat(*panels, spacing=GRID_SPACING)
    else:
        grid = alt.concat(*panels, columns=per_row, spacing=GRID_SPACING)
    return styled(grid.resolve_scale(color="shared"), style)


def per_row_fitting(widths: Sequence[int], width: int | None) -> int:
    """How many maps of these widths (px) fit side by side, with spacing and one legend, in `width` px."""
    if width is None:
        return len(widths)
    widest = max(widths)
    return max(1, min(len(widths), (width - LEGEND_PX + GRID_SPACING) // (widest + GRID_SPACING)))


def entropy_vs_dim(df: pd.DataFrame, style: str = "screen"):
    """Softmax entropy against the dimension d, with and without the 1/sqrt(d) scaling.

    df: columns d, scaled (bool), entropy; optional n_keys draws the uniform-weights level log(n).
    """
    th = theme(style)
    require_columns(df, ["d", "scaled", "entropy"], "entropy_vs_dim")
    frame = df.assign(scaling=np.where(df["scaled"].astype(bool), "scaled (÷√d)", "unscaled"))
    domain = list(PLAYGROUND_COLORS)
    enc = dict(x=alt.X("d:Q", title="dimension d of queries and keys", scale=alt.Scale(type="log", base=2),
                       axis=alt.Axis(values=sorted(frame["d"].unique().tolist()), format="d")),
               y=alt.Y("entropy:Q", title="softmax entropy (nats)", scale=alt.Scale(zero=True)),
               color=alt.Color("scaling:N", title=None, scale=alt.Scale(domain=domain, range=list(PLAYGROUND_COLORS.values())),
                               legend=alt.Legend(symbolType="stroke", symbolSize=th.point * 12, symbolStrokeWidth=th.line)),
               strokeDash=alt.StrokeDash("scaling:N", title=None, scale=alt.Scale(domain=domain, range=[[1, 0], [6, 4]]),
                                         legend=alt.Legend(symbolType="stroke", symbolSize=th.point * 12,
                                                           symbolStrokeWidth=th.line)),
               tooltip=[alt.Tooltip("d:Q"), alt.Tooltip("scaling:N"), alt.Tooltip("entropy:Q", format=".3f")])
    base = alt.Chart(inline_data(frame)).encode(**enc)
    layers = [base.mark_line(), base.mark_point(filled=True, opacity=1)]
    if "n_keys" in frame and frame["n_keys"].notna().any():
        n = int(frame["n_keys"].max())
        level = pd.DataFrame({"y": [math.log(n)], "label": [f"uniform over {n} keys: log {n} = {math.log(n):.2f}"]})
        ref = alt.Chart(inline_data(level))
        layers += [ref.mark_rule(color="gray", strokeDash=[2, 2]).encode(y="y:Q"),
                   ref.mark_text(align="right", baseline="bottom", dy=-4, fontSize=th.label, color="gray")
                   .encode(y="y:Q", x=alt.value(th.width), text="label:N")]
    chart = alt.layer(*layers).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams("Why divide by √d: unscaled dot products saturate the softmax",
                              subtitle="q, k ~ N(0, 1); lower entropy = weight piled on one key"))
    return styled(chart, style)


def matrix_heatmap(matrix, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                   title: str = "", style: str = "screen", values: bool | None = None):
    """A small matrix (Q, K, V, weights, output) as coloured cells, with the numbers written in.

    Values all in [0, 1] (attention weights) get the sequential heatmap scale on 0..1; anything
    signed gets a diverging scale centred on 0. `values=None` writes numbers when there are at most
    12 x 12 cells.
    """
    th = theme(style)
    m = as_matrix(matrix)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"matrix_heatmap: need a non-empty 2-D matrix, got shape {m.shape}")
    rows = list(row_labels) if row_labels is not None else [str(i + 1) for i in range(m.shape[0])]
    cols = list(col_labels) if col_labels is not None else [str(j + 1) for j in range(m.shape[1])]
    if len(rows) != m.shape[0] or len(cols) != m.shape[1]:
        raise ValueError(f"matrix_heatmap: {len(rows)} row and {len(cols)} column labels for a {m.shape} matrix")
    r_idx, c_idx = np.indices(m.shape)
    cells = pd.DataFrame({"r": r_idx.ravel(), "c": c_idx.ravel(), "value": m.ravel()})
    cells["row"], cells["col"] = [rows[r] for r in cells["r"]], [cols[c] for c in cells["c"]]
    if np.nanmin(m) >= 0 and np.nanmax(m) <= 1:
        scale, dark = weight_scale(), "datum.value > 0.65"  # black text keeps more contrast below that
    else:
        bound = float(np.nanmax(np.abs(m))) or 1.0
        scale = alt.Scale(scheme=DIVERGING_SCHEME, domain=[-bound, bound], domainMid=0)
        dark = f"abs(datum.value) > {0.7 * bound}"
    write = m.shape[0] <= 12 and m.shape[1] <= 12 if values is None else values
    cell = int(th.text * 3.6) if write else cell_pixels(m.shape[1], m.shape[0], th, 0.6)
    x = alt.X("c:O", axis=alt.Axis(title=None, orient="top", labelExpr=label_expr(cols), labelAngle=0,
                                   labelOverlap="greedy", labelLimit=th.label_limit, ticks=False, domain=False))
    y = alt.Y("r:O", axis=alt.Axis(title=None, labelExpr=label_expr(rows), labelOverlap="greedy",
                                   labelLimit=th.label_limit, ticks=False, domain=False))
    tooltip = [alt.Tooltip("row:N"), alt.Tooltip("col:N", title="column"), alt.Tooltip("value:Q", format=".3f")]
    layers = [alt.Chart().mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, tooltip=tooltip, color=alt.Color("value:Q", scale=scale, legend=None if write else alt.Legend(title=None)))]
    if write:
        layers.append(alt.Chart().mark_text(fontSize=th.text).encode(
            x=x, y=y, text=alt.Text("value:Q", format=".2f"), tooltip=tooltip,
            color=alt.condition(dark, alt.value("white"), alt.value("black"))))
    chart = alt.layer(*layers, data=inline_data(cells)).properties(width=alt.Step(cell), height=alt.Step(cell),
                                                                   title=alt.TitleParams(title))
    return styled(chart, style)
