"""Every Altair chart of the app: tidy data in, `alt.Chart` out. Pages and the CLI call these.

Each builder takes `style="screen"` (the dashboard: default fonts, no background so light and dark
themes both work) or `style="slide"` (white background, large fonts, thick lines, sized for a 16:9
slide). The style is applied once, by `_styled`, on the finished chart. `to_png` / `to_svg` render
a chart offline with vl-convert, which is what the CLI writes to disk.

Variant colours come from the Okabe-Ito palette (Okabe & Ito 2008, safe for colour-blind readers) and
are defined once, in `VARIANT_COLORS`; `variant_scale()` pins them to a fixed domain order, so a
variant has the same colour on every chart and page.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import altair as alt
from altair.utils.schemapi import debug_mode
import numpy as np
import pandas as pd

from attn.records import METRIC_LABELS

VARIANT_ORDER = ("none", "additive", "dot", "general")
VARIANT_COLORS = {"none": "#D55E00",      # vermillion: the baseline without attention
                  "additive": "#0072B2",  # blue
                  "dot": "#E69F00",       # orange
                  "general": "#009E73"}   # bluish green
# Names outside VARIANT_ORDER (e.g. an experiment's own label) get the rest of Okabe-Ito, in order seen.
_SPARE_COLORS = ("#CC79A7", "#56B4E9", "#000000", "#F0E442")
_PLAYGROUND_COLORS = {"scaled (÷√d)": "#56B4E9", "unscaled": "#CC79A7"}  # not variant colours
_GOLD_COLOR = "#D55E00"
_BAR_COLOR = "#8A9AAB"
# Attention weights: white (0) to dark blue (1), a single-hue ramp (Vega's "blues" stops, led by white so
# that zero weight reads as empty); lightness alone carries the value, for every kind of colour vision.
HEATMAP_DOMAIN = [0.0, 0.05, 0.25, 0.5, 0.75, 1.0]
HEATMAP_RANGE = ["#ffffff", "#cfe1f2", "#93c4de", "#4a98c9", "#1764ab", "#08306b"]
DIVERGING_SCHEME = "blueorange"  # for signed matrices (Q, K, V) in the Playground
BAND = {"minmax": "min–max over seeds", "std": "±1 std over seeds"}
STYLES = ("screen", "slide")
LOSS_X = {"step": "training step", "epoch": "epoch", "elapsed": "seconds since start"}
MAX_POINTS_PER_RUN = 400        # loss curves are thinned beyond this; the shape survives, the browser copes


@dataclass(frozen=True)
class _Theme:
    """Sizes of one style; `_styled` applies the fonts, builders read the sizes."""

    width: int              # data area of a single chart, px
    height: int
    title: int              # font sizes
    subtitle: int
    label: int              # axis / legend / header labels
    axis_title: int
    text: int               # text marks drawn inside a chart
    line: float             # stroke width of lines
    point: int              # area of point marks
    cell_min: int           # heatmap cell size bounds (px); cell_min fits one line of label text
    cell_max: int
    label_limit: int        # longest tick label before it is cut with an ellipsis, px


_THEMES = {
    "screen": _Theme(width=520, height=300, title=15, subtitle=12, label=11, axis_title=12, text=12,
                     line=2.0, point=40, cell_min=15, cell_max=36, label_limit=110),
    "slide": _Theme(width=1000, height=470, title=22, subtitle=16, label=16, axis_title=18, text=16,
                    line=4.0, point=130, cell_min=21, cell_max=56, label_limit=170),
}


def _theme(style: str) -> _Theme:
    if style not in _THEMES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    return _THEMES[style]


def _styled(chart, style: str):
    """The one place fonts, strokes and background are set, for every builder.

    One .configure() call: every configure_*() call copies the chart, and copying a layered or
    faceted chart re-runs Altair's merging of its sub-charts (~15 ms each for the loss charts).
    """
    th = _theme(style)
    slide = {"background": "white", "padding": 20} if style == "slide" else {}
    return chart.configure(
        **slide,
        title=alt.TitleConfig(fontSize=th.title, subtitleFontSize=th.subtitle, anchor="start", offset=10),
        axis=alt.AxisConfig(labelFontSize=th.label, titleFontSize=th.axis_title, titlePadding=8),
        legend=alt.LegendConfig(labelFontSize=th.label, titleFontSize=th.axis_title, symbolSize=th.point * 2,
                                symbolStrokeWidth=th.line, labelLimit=th.label_limit * 2),
        header=alt.HeaderConfig(labelFontSize=th.axis_title, titleFontSize=th.axis_title),
        line=alt.LineConfig(strokeWidth=th.line),
        rule=alt.MarkConfig(strokeWidth=max(1.0, th.line / 2)),
        point=alt.MarkConfig(size=th.point))


def variant_scale(variants: Iterable[str] = ()) -> alt.Scale:
    """Colour scale: none, additive, dot, general always first and always the same colours.

    Names not among those four (passed in `variants`) are appended with spare Okabe-Ito colours.
    """
    extra = [v for v in dict.fromkeys(variants) if v not in VARIANT_COLORS]
    domain = list(VARIANT_ORDER) + extra
    spare = [_SPARE_COLORS[i % len(_SPARE_COLORS)] for i in range(len(extra))]
    return alt.Scale(domain=domain, range=[VARIANT_COLORS[v] for v in VARIANT_ORDER] + spare)


def _present(variants: Iterable[str]) -> list[str]:
    """Variants that occur, in the fixed order (unknown names last, in order seen)."""
    seen = list(dict.fromkeys(variants))
    return [v for v in VARIANT_ORDER if v in seen] + [v for v in seen if v not in VARIANT_COLORS]


def _variant_color(variants: Sequence[str], title: str | None = "attention") -> alt.Color:
    present = _present(variants)
    return alt.Color("variant:N", scale=variant_scale(present), sort=list(variant_scale(present).domain),
                     legend=alt.Legend(title=title, values=present, symbolOpacity=1))  # opaque even beside a pale band


def _data(df: pd.DataFrame) -> alt.InlineData:
    """Inline values through pandas' JSON writer: NaN -> null, numpy scalars -> JSON, no row cap.

    The rows go in as a tuple and without Altair's validation on construction: Altair deep-copies
    lists and dicts (not tuples) at every .configure_*(), layer and facet, and validated the rows
    here as well, which made a 260-row loss chart cost 136 ms to build instead of ~20. The whole
    spec, rows included, is still validated once when it is turned into JSON.
    """
    rows = tuple(rows_json(df))
    with debug_mode(False):
        return alt.InlineData(values=rows)


def _require(df: pd.DataFrame, columns: Sequence[str], builder: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{builder}: the data frame lacks column(s) {', '.join(missing)}; "
                         f"it has {', '.join(map(str, df.columns)) or 'none'}")


def _message(text: str, style: str, width: int | None = None, height: int | None = None,
             title: str = "") -> alt.Chart:
    """An empty panel with one centred line of text (unstyled; callers style it)."""
    th = _theme(style)
    width, height = width or th.width, height or th.height
    return (alt.Chart(alt.InlineData(values=[{"text": text}]), title=title)
            .mark_text(fontSize=th.text + 2, color="gray")
            .encode(text="text:N", x=alt.value(width / 2), y=alt.value(height / 2))
            .properties(width=width, height=height, view=alt.ViewConfig(strokeWidth=0)))


def message_chart(text: str, style: str = "screen") -> alt.Chart:
    """A styled chart that only says `text` (e.g. 'no runs yet')."""
    return _styled(_message(text, style), style)


# ---------------------------------------------------------------- metrics by source length

def bucket_summary(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per variant x bucket over seeds: bucket, lo, hi, n, mean, std, min, max, seeds (rows, by lo)."""
    _require(df, ["variant", "seed", "bucket", "lo", "n", metric], "bucket_summary")
    frame = df.assign(value=pd.to_numeric(df[metric], errors="coerce")).dropna(subset=["value"])
    if frame.empty:
        return pd.DataFrame(columns=["variant", "bucket", "lo", "hi", "n", "mean", "std", "min", "max", "seeds"])
    hi = frame["hi"] if "hi" in frame else frame["lo"]
    summary = (frame.assign(hi=hi).groupby(["variant", "bucket"], sort=False)
               .agg(lo=("lo", "min"), hi=("hi", "max"), n=("n", "max"), mean=("value", "mean"),
                    std=("value", "std"), min=("value", "min"), max=("value", "max"),
                    seeds=("seed", "nunique"))
               .reset_index())
    summary["std"] = summary["std"].fillna(0.0)
    return summary.sort_values(["lo", "variant"], kind="stable").reset_index(drop=True)


def metric_by_bucket(df: pd.DataFrame, metric: str = "bleu", style: str = "screen", band: str = "minmax"):
    """`metric` against source-length bucket, one line per variant (Bahdanau et al. 2015, Fig. 2).

    df: one row per run x bucket with columns variant, seed, bucket (label, e.g. "10-19"), lo, hi, n
    and the metric (bleu, chrf, exact, token_acc, align, aer; null where it does not apply). Lines
    are the mean over seeds; with two or more seeds a shaded band shows the spread (band="minmax":
    min to max, "std": mean +- 1 std). Buckets are ordered by `lo`.
    """
    th = _theme(style)
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}")
    if band not in BAND:
        raise ValueError(f"band must be one of {', '.join(BAND)}, got {band!r}")
    label = METRIC_LABELS[metric]
    summary = bucket_summary(df, metric)
    if summary.empty:
        return message_chart(f"no {label} for these runs", style)
    if band == "minmax":
        summary["band_lo"], summary["band_hi"] = summary["min"], summary["max"]
    else:
        summary["band_lo"], summary["band_hi"] = summary["mean"] - summary["std"], summary["mean"] + summary["std"]
    order = list(dict.fromkeys(summary.sort_values("lo", kind="stable")["bucket"]))
    max_seeds = int(summary["seeds"].max())
    x = alt.X("bucket:O", sort=order, title="source length (tokens)",
              axis=alt.Axis(labelAngle=0, labelOverlap="greedy"))
    y = alt.Y("mean:Q", title=label, scale=alt.Scale(zero=False, nice=True))
    color = _variant_color(summary["variant"])
    tooltip = [alt.Tooltip("variant:N"), alt.Tooltip("bucket:N", title="source length"),
               alt.Tooltip("n:Q", title="n (sentences)"), alt.Tooltip("mean:Q", format=".1f"),
               alt.Tooltip("std:Q", format=".1f"), alt.Tooltip("seeds:Q")]
    base = alt.Chart().encode(x=x, color=color)
    layers = []
    if max_seeds >= 2:
        band_layer = (base.transform_filter("datum.seeds >= 2").mark_area(opacity=0.18)
                      .encode(y=alt.Y("band_lo:Q", title=label), y2="band_hi:Q"))
        layers.append(band_layer)
    layers += [base.mark_line().encode(y=y),
               base.mark_point(filled=True, opacity=1).encode(y=y, tooltip=tooltip)]
    if max_seeds >= 2:
        subtitle = f"mean over {max_seeds} seeds; band: {BAND[band]}"
    else:
        subtitle = "one seed per variant (no spread shown)"
    chart = alt.layer(*layers, data=_data(summary)).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams(f"{label} by source sentence length", subtitle=subtitle))
    return _styled(chart, style)


# ---------------------------------------------------------------- loss curves

def smooth(series: pd.Series, weight: float) -> pd.Series:
    """Exponential moving average: s_0 = x_0, s_t = weight * s_{t-1} + (1 - weight) * x_t.

    NaNs are skipped (they stay NaN and do not reset the average); weight 0 returns the series.
    """
    if not 0.0 <= weight <= 0.99:
        raise ValueError(f"smoothing weight must be in [0, 0.99], got {weight}")
    series = pd.Series(series, dtype="float64")
    if weight == 0.0:
        return series.copy()
    smoothed = series.ewm(alpha=1.0 - weight, adjust=False, ignore_na=True).mean()
    return smoothed.where(series.notna())


def _thin(frame: pd.DataFrame, per_run: int) -> pd.DataFrame:
    """At most `per_run` evenly spaced rows per run, always keeping the first and last."""
    parts = []
    for _, run in frame.groupby("run_id", sort=False):
        if len(run) > per_run:
            run = run.iloc[np.unique(np.linspace(0, len(run) - 1, per_run).round().astype(int))]
        parts.append(run)
    return pd.concat(parts) if parts else frame


def loss_long(df: pd.DataFrame, x: str = "step", smoothing: float = 0.0) -> pd.DataFrame:
    """Training log rows -> tidy curve points: run_id, name, variant, seed, x, curve, loss, raw.

    Epoch rows are those with a valid_loss (or kind == "epoch" when a `kind` column exists). The
    train curve uses the step rows (the epoch rows when there are none, and always for x="epoch");
    the valid curve uses the epoch rows. `smoothing` is applied per run to the train curve.
    """
    if x not in LOSS_X:
        raise ValueError(f"x must be one of {', '.join(LOSS_X)}, got {x!r}")
    _require(df, ["run_id", "variant", x, "train_loss"], "loss curves")
    df = df.copy()
    if "name" not in df:
        df["name"] = df["run_id"].astype(str)
    if "seed" not in df:
        df["seed"] = 0
    if "valid_loss" not in df:
        df["valid_loss"] = np.nan
    df["train_loss"] = pd.to_numeric(df["train_loss"], errors="coerce")
    df["valid_loss"] = pd.to_numeric(df["valid_loss"], errors="coerce")
    is_epoch = df["kind"].eq("epoch") if "kind" in df else df["valid_loss"].notna()
    steps = df[~is_epoch & df["train_loss"].notna()]
    train = df[is_epoch & df["train_loss"].notna()] if x == "epoch" or steps.empty else steps
    valid = df[is_epoch & df["valid_loss"].notna()]
    keep = ["run_id", "name", "variant", "seed", x]
    train = train[keep + ["train_loss"]].rename(columns={x: "x", "train_loss": "raw"}).sort_values(["run_id", "x"])
    train["loss"] = train.groupby("run_id", sort=False)["raw"].transform(lambda s: smooth(s, smoothing))
    valid = valid[keep + ["valid_loss"]].rename(columns={x: "x", "valid_loss": "raw"}).sort_values(["run_id", "x"])
    valid["loss"] = valid["raw"]
    n_runs = max(train["run_id"].nunique(), 1)
    train = _thin(train, max(50, min(MAX_POINTS_PER_RUN, 4000 // n_runs)))
    out = pd.concat([train.assign(curve="train"), valid.assign(curve="valid")], ignore_index=True)
    out["last"] = ~out.duplicated(["run_id", "curve"], keep="last")
    return out[["run_id", "name", "variant", "seed", "x", "curve", "loss", "raw", "last"]]


def _loss_layer(long: pd.DataFrame, x: str, log_y: bool, smoothing: float, th: _Theme,
                live: bool = False) -> alt.LayerChart:
    """Unsized, unstyled layers shared by `loss_curves` and `live_loss_chart`."""
    axis_x = alt.Axis()
    if x == "epoch":  # whole epochs only: at most ~10 integer ticks
        first, last = int(math.floor(long["x"].min())), int(math.ceil(long["x"].max()))
        axis_x = alt.Axis(format="d", values=list(range(first, last + 1, max(1, math.ceil((last - first + 1) / 10)))))
    enc_x = alt.X("x:Q", title=LOSS_X[x], axis=axis_x,
                  scale=alt.Scale(zero=False, nice=False) if x == "epoch" else alt.Scale())
    y_scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    y_title = "loss per token" + (" (log scale)" if log_y else "")
    enc_y = alt.Y("loss:Q", title=y_title, scale=y_scale)
    dash = alt.StrokeDash("curve:N", title="curve", scale=alt.Scale(domain=["train", "valid"], range=[[1, 0], [6, 4]]),
                          legend=alt.Legend(symbolType="stroke", symbolSize=th.point * 12, symbolStrokeWidth=th.line))
    tooltip = [alt.Tooltip("name:N", title="run"), alt.Tooltip("curve:N"), alt.Tooltip("x:Q", title=x, format=",.4~f"),
               alt.Tooltip("loss:Q", format=".3f")]
    base = alt.Chart().encode(x=enc_x, y=enc_y, color=_variant_color(long["variant"]), detail="run_id:N",
                              tooltip=tooltip)
    layers = []
    if smoothing > 0:  # the raw train curve, faint, behind the smoothed one
        layers.append(base.transform_filter("datum.curve == 'train'").mark_line(opacity=0.22, strokeWidth=1)
                      .encode(y=alt.Y("raw:Q", scale=y_scale, title=y_title)))
    layers.append(base.mark_line().encode(strokeDash=dash))
    if live:  # the newest value of each run as a point: where it is now, and visible from the first step
        layers.append(base.transform_filter("datum.curve == 'train' && datum.last").mark_point(filled=True, opacity=1))
    layers.append(base.transform_filter("datum.curve == 'valid'").mark_point(filled=True, opacity=1, shape="diamond"))
    return alt.layer(*layers, data=_data(long))


def loss_curves(df: pd.DataFrame, x: str = "step", log_y: bool = False, smoothing: float = 0.0,
                layout: str = "overlay", style: str = "screen"):
    """Train (solid) and valid (dashed, with points) loss per run; colour = variant.

    df: training log rows with run_id, name (display label), variant, seed, step, epoch, elapsed,
    train_loss, valid_loss (valid only on epoch rows; NaN elsewhere). layout="overlay": every run on
    one chart; "side_by_side": one panel per variant with a shared y scale. smoothing: EMA weight in
    [0, 0.99] on the train curve (the raw curve stays faintly behind it).
    """
    th = _theme(style)
    if layout not in ("overlay", "side_by_side"):
        raise ValueError(f"layout must be 'overlay' or 'side_by_side', got {layout!r}")
    long = loss_long(df, x, smoothing) if len(df) else pd.DataFrame()
    if long.empty:
        return message_chart("no loss values yet", style)
    title = alt.TitleParams("Training and validation loss",
                            subtitle="solid: train" + (f" (smoothed {smoothing:g})" if smoothing else "")
                            + "; dashed with diamonds: validation, once per epoch")
    layer = _loss_layer(long, x, log_y, smoothing, th)
    if layout == "overlay":
        return _styled(layer.properties(width=th.width, height=th.height, title=title), style)
    return _styled(_facet_by_variant(layer, long, th, title), style)


def _facet_by_variant(layer: alt.LayerChart, long: pd.DataFrame, th: _Theme, title) -> alt.FacetChart:
    present = _present(long["variant"])
    panel = max(int((th.width - 24 * (len(present) - 1)) / len(present)), th.width // 4, 150)
    return (layer.properties(width=panel, height=int(th.height * 0.8))
            .facet(column=alt.Facet("variant:N", sort=present, title=None,
                                    header=alt.Header(labelFontWeight="bold")), title=title, spacing=24)
            .resolve_scale(y="shared", x="independent"))


def live_loss_chart(df: pd.DataFrame | None, style: str = "screen"):
    """The Train page's chart of running jobs: loss against step, one panel per variant.

    df: the rows logged so far (run_id, name, variant, seed, step, train_loss, optional valid_loss).
    The newest value of each run is drawn as a point, so a run with a single logged step shows; with
    no rows the chart says it is waiting for the first steps.
    """
    th = _theme(style)
    parts = live_loss_parts(df)
    if parts is None:
        return message_chart("waiting for the first steps…", style)
    _, long = parts
    layer = _loss_layer(long, "step", log_y=False, smoothing=0.0, th=th, live=True)
    return _styled(_facet_by_variant(layer, long, th, alt.TitleParams("Loss while training")), style)


def live_loss_parts(df: pd.DataFrame | None) -> tuple[tuple, pd.DataFrame] | None:
    """(shape, rows) of `live_loss_chart(df)`: everything in its spec that depends on `df` is either
    the shape (the variants present, in drawing order) or the rows it draws (`loss_long(df, "step")`).
    A page that redraws the chart every second builds the spec once per shape and swaps the rows in.
    None where the chart is the "waiting" message instead.
    """
    if df is None or len(df) == 0 or "train_loss" not in df or pd.to_numeric(df["train_loss"], errors="coerce").isna().all():
        return None
    long = loss_long(df, "step")
    return tuple(_present(long["variant"])), long


def rows_json(df: pd.DataFrame) -> list[dict]:
    """The rows of a frame as the charts inline them (NaN -> null, 6 significant digits)."""
    return json.loads(df.to_json(orient="records", double_precision=6))


# ---------------------------------------------------------------- attention heatmaps

def _as_matrix(weights) -> np.ndarray:
    if hasattr(weights, "detach"):  # a torch tensor, without importing torch here
        weights = weights.detach().cpu().float().numpy()
    return np.asarray(weights, dtype=np.float64)


def _label_expr(labels: Sequence[str]) -> str:
    """Vega expression mapping an index tick to its token, so repeated tokens stay separate columns."""
    # JSON string literals are Vega expression literals, except for raw U+2028/U+2029, which must be escaped.
    literal = json.dumps([str(t) for t in labels], ensure_ascii=False)
    return literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "[datum.value]"


def _cell(n_cols: int, n_rows: int, th: _Theme, budget: float = 1.0) -> int:
    """Pixels per token: large for short sentences, never below one line of label text."""
    fit = int(th.width * budget / max(n_cols, n_rows, 1))
    return max(th.cell_min, min(th.cell_max, fit))


def _x_token_axis(labels: Sequence[str], cell: int, th: _Theme, title: str) -> alt.Axis:
    # -45 degree labels need ~1.5 font heights of step to clear each other; -90 needs one. The cell
    # size guarantees that spacing, so overlap removal stays off: Vega's bounding boxes of rotated
    # labels overlap even when the text does not, and it would drop every other source word.
    angle = -45 if cell >= 1.5 * th.label + 2 else -90
    return alt.Axis(title=title, orient="top", labelExpr=_label_expr(labels), labelAngle=angle,
                    labelAlign="left", labelBaseline="middle", labelOverlap=False,
                    labelLimit=th.label_limit, labelPadding=4, ticks=False, domain=False)


def _y_token_axis(labels: Sequence[str], th: _Theme, title: str) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=_label_expr(labels), labelOverlap=False,
                    labelLimit=th.label_limit, ticks=False, domain=False)


def _weight_scale() -> alt.Scale:
    """The colour scale of attention weights, 0..1, shared by every heatmap."""
    return alt.Scale(domain=HEATMAP_DOMAIN, range=HEATMAP_RANGE, clamp=True, interpolate="lab")


def _heatmap(src_tokens, out_tokens, weights, gold, title: str, th: _Theme, style: str, budget: float = 1.0,
             in_grid: bool = False):
    src_tokens, out_tokens = [str(t) for t in src_tokens], [str(t) for t in out_tokens]
    if weights is None:
        return _message("this model has no attention weights", style, width=th.width // 2,
                        height=th.height // 3, title=title)
    matrix = _as_matrix(weights)
    if matrix.ndim != 2 or matrix.shape != (len(out_tokens), len(src_tokens)):
        raise ValueError(f"attention_heatmap: weights must be (T, S) = ({len(out_tokens)}, {len(src_tokens)}) "
                         f"for {len(out_tokens)} output and {len(src_tokens)} source tokens, got {matrix.shape}")
    if matrix.size == 0:
        return _message("empty sentence", style, width=th.width // 2, height=th.height // 3, title=title)
    gold = {(int(t), int(s)) for t, s in (gold or ())}
    t_idx, s_idx = np.indices(matrix.shape)
    cells = pd.DataFrame({"t": t_idx.ravel(), "s": s_idx.ravel(), "weight": matrix.ravel()})
    cells["source"] = [src_tokens[s] for s in cells["s"]]
    cells["output"] = [out_tokens[t] for t in cells["t"]]
    cells["gold"] = [(t, s) in gold for t, s in zip(cells["t"], cells["s"])]
    cell = _cell(len(src_tokens), len(out_tokens), th, budget)
    x = alt.X("s:O", sort="ascending", axis=_x_token_axis(src_tokens, cell, th, "source"))
    y = alt.Y("t:O", sort="ascending", axis=_y_token_axis(out_tokens, th, "output"))
    tooltip = [alt.Tooltip("source:N"), alt.Tooltip("output:N"), alt.Tooltip("weight:Q", format=".3f"),
               alt.Tooltip("s:O", title="source position"), alt.Tooltip("t:O", title="output position")]
    rect = alt.Chart().mark_rect().encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("weight:Q", scale=_weight_scale(),
                        legend=alt.Legend(title="weight", gradientLength=max(80, min(200, cell * len(out_tokens))))))
    layers = [rect]
    subtitle = None
    if gold:
        layers.append(alt.Chart().transform_filter("datum.gold").mark_square(
            filled=False, opacity=1, color=_GOLD_COLOR, strokeWidth=max(1.5, th.line * 0.6), size=(cell * 0.62) ** 2)
            .encode(x=x, y=y, tooltip=tooltip))
        subtitle = "outlined: gold alignment"
    elif in_grid:
        subtitle = " "  # keeps the panel's title block as tall as its neighbours' with a gold note
    params = alt.TitleParams(title, subtitle=subtitle) if subtitle else alt.TitleParams(title)
    return alt.layer(*layers, data=_data(cells)).properties(width=alt.Step(cell), height=alt.Step(cell), title=params)


def attention_heatmap(src_tokens: Sequence[str], out_tokens: Sequence[str], weights, gold=None,
                      title: str = "", style: str = "screen"):
    """Attention weights (T, S): source tokens across the top in sentence order, output down the side.

    weights: (T, S) array or tensor, row t = where output token t looked (None: a model without
    attention, drawn as a note). gold: optional set of (t, s) pairs, outlined. Each token gets a
    fixed-size cell, so a 50-word sentence makes a wider chart rather than unreadable labels.
    """
    th = _theme(style)
    return _styled(_heatmap(src_tokens, out_tokens, weights, gold, title, th, style), style)


def attention_grid(items: Sequence[dict], style: str = "screen"):
    """Several heatmaps side by side with one shared colour scale (0..1).

    items: dicts with keys title, src_tokens, out_tokens, weights and optionally gold.
    """
    th = _theme(style)
    if not items:
        return message_chart("nothing to compare yet", style)
    budget = 1.0 / min(len(items), 3) * 1.4
    panels = [_heatmap(it["src_tokens"], it["out_tokens"], it.get("weights"), it.get("gold"),
                       it.get("title", ""), th, style, budget, in_grid=True) for it in items]
    return _styled(alt.hconcat(*panels, spacing=30).resolve_scale(color="shared"), style)


# ---------------------------------------------------------------- data and playground

def length_histogram(lengths: Sequence[int], edges: Sequence[int], style: str = "screen"):
    """Sentences per source length, with the bucket edges as labelled vertical rules.

    Bucket k holds lengths in [edges[k], edges[k+1]) as in `attn.data.bucket_edges`; each rule sits
    between the last length of one bucket and the first of the next.
    """
    th = _theme(style)
    lengths = pd.Series(list(lengths), dtype="int64")
    if lengths.empty:
        return message_chart("no sentences", style)
    counts = lengths.value_counts().sort_index().rename_axis("length").reset_index(name="count")
    counts["x0"], counts["x1"] = counts["length"] - 0.5, counts["length"] + 0.5
    top = float(counts["count"].max())
    edges = sorted(int(e) for e in edges)
    rules = pd.DataFrame({"edge": [e - 0.5 for e in edges], "first": edges})
    buckets = pd.DataFrame([{"mid": (edges[k] + edges[k + 1] - 1) / 2,
                             "label": f"{edges[k]}" if edges[k + 1] - 1 == edges[k] else f"{edges[k]}-{edges[k + 1] - 1}",
                             "n": int(lengths.between(edges[k], edges[k + 1] - 1).sum()), "y": top * 1.12}
                            for k in range(len(edges) - 1)])
    x = alt.X("x0:Q", title="source length (tokens)", scale=alt.Scale(zero=False, nice=False), axis=alt.Axis(grid=False))
    y_scale = alt.Scale(domain=[0, top * 1.2])
    bars = alt.Chart(_data(counts)).mark_rect(color=_BAR_COLOR, stroke="white", strokeWidth=0.5).encode(
        x=x, x2="x1:Q", y=alt.Y("count:Q", title="sentences", scale=y_scale), y2=alt.datum(0),
        tooltip=[alt.Tooltip("length:Q"), alt.Tooltip("count:Q", title="sentences")])
    layers = [bars]
    if len(edges):
        layers.append(alt.Chart(_data(rules)).mark_rule(color="#444", strokeDash=[5, 3]).encode(
            x="edge:Q", tooltip=[alt.Tooltip("first:Q", title="bucket starts at")]))
    if len(buckets):
        layers.append(alt.Chart(_data(buckets)).mark_text(fontSize=th.label, baseline="middle", lineBreak="\n").encode(
            x="mid:Q", y=alt.Y("y:Q", scale=y_scale),
            text=alt.Text("text:N"), tooltip=[alt.Tooltip("label:N", title="bucket"), alt.Tooltip("n:Q")])
            .transform_calculate(text="datum.label + '\\n' + 'n=' + datum.n"))
    chart = alt.layer(*layers).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams("Source sentence lengths", subtitle="dashed rules: length-bucket edges"))
    return _styled(chart, style)


def entropy_vs_dim(df: pd.DataFrame, style: str = "screen"):
    """Softmax entropy against the dimension d, with and without the 1/sqrt(d) scaling.

    df: columns d, scaled (bool), entropy; optional n_keys draws the uniform-weights level log(n).
    """
    th = _theme(style)
    _require(df, ["d", "scaled", "entropy"], "entropy_vs_dim")
    frame = df.assign(scaling=np.where(df["scaled"].astype(bool), "scaled (÷√d)", "unscaled"))
    domain = list(_PLAYGROUND_COLORS)
    enc = dict(x=alt.X("d:Q", title="dimension d of queries and keys", scale=alt.Scale(type="log", base=2),
                       axis=alt.Axis(values=sorted(frame["d"].unique().tolist()), format="d")),
               y=alt.Y("entropy:Q", title="softmax entropy (nats)", scale=alt.Scale(zero=True)),
               color=alt.Color("scaling:N", title=None, scale=alt.Scale(domain=domain, range=list(_PLAYGROUND_COLORS.values())),
                               legend=alt.Legend(symbolType="stroke", symbolSize=th.point * 12, symbolStrokeWidth=th.line)),
               strokeDash=alt.StrokeDash("scaling:N", title=None, scale=alt.Scale(domain=domain, range=[[1, 0], [6, 4]]),
                                         legend=alt.Legend(symbolType="stroke", symbolSize=th.point * 12,
                                                           symbolStrokeWidth=th.line)),
               tooltip=[alt.Tooltip("d:Q"), alt.Tooltip("scaling:N"), alt.Tooltip("entropy:Q", format=".3f")])
    base = alt.Chart(_data(frame)).encode(**enc)
    layers = [base.mark_line(), base.mark_point(filled=True, opacity=1)]
    if "n_keys" in frame and frame["n_keys"].notna().any():
        n = int(frame["n_keys"].max())
        level = pd.DataFrame({"y": [math.log(n)], "label": [f"uniform over {n} keys: log {n} = {math.log(n):.2f}"]})
        ref = alt.Chart(_data(level))
        layers += [ref.mark_rule(color="gray", strokeDash=[2, 2]).encode(y="y:Q"),
                   ref.mark_text(align="right", baseline="bottom", dy=-4, fontSize=th.label, color="gray")
                   .encode(y="y:Q", x=alt.value(th.width), text="label:N")]
    chart = alt.layer(*layers).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams("Why divide by √d: unscaled dot products saturate the softmax",
                              subtitle="q, k ~ N(0, 1); lower entropy = weight piled on one key"))
    return _styled(chart, style)


def matrix_heatmap(matrix, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                   title: str = "", style: str = "screen", values: bool | None = None):
    """A small matrix (Q, K, V, weights, output) as coloured cells, with the numbers written in.

    Values all in [0, 1] (attention weights) get the sequential heatmap scale on 0..1; anything
    signed gets a diverging scale centred on 0. `values=None` writes numbers when there are at most
    12 x 12 cells.
    """
    th = _theme(style)
    m = _as_matrix(matrix)
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
        scale, dark = _weight_scale(), "datum.value > 0.65"  # black text keeps more contrast below that
    else:
        bound = float(np.nanmax(np.abs(m))) or 1.0
        scale = alt.Scale(scheme=DIVERGING_SCHEME, domain=[-bound, bound], domainMid=0)
        dark = f"abs(datum.value) > {0.7 * bound}"
    write = m.shape[0] <= 12 and m.shape[1] <= 12 if values is None else values
    cell = int(th.text * 3.6) if write else _cell(m.shape[1], m.shape[0], th, 0.6)
    x = alt.X("c:O", axis=alt.Axis(title=None, orient="top", labelExpr=_label_expr(cols), labelAngle=0,
                                   labelOverlap="greedy", labelLimit=th.label_limit, ticks=False, domain=False))
    y = alt.Y("r:O", axis=alt.Axis(title=None, labelExpr=_label_expr(rows), labelOverlap="greedy",
                                   labelLimit=th.label_limit, ticks=False, domain=False))
    tooltip = [alt.Tooltip("row:N"), alt.Tooltip("col:N", title="column"), alt.Tooltip("value:Q", format=".3f")]
    layers = [alt.Chart().mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, tooltip=tooltip, color=alt.Color("value:Q", scale=scale, legend=None if write else alt.Legend(title=None)))]
    if write:
        layers.append(alt.Chart().mark_text(fontSize=th.text).encode(
            x=x, y=y, text=alt.Text("value:Q", format=".2f"), tooltip=tooltip,
            color=alt.condition(dark, alt.value("white"), alt.value("black"))))
    chart = alt.layer(*layers, data=_data(cells)).properties(width=alt.Step(cell), height=alt.Step(cell),
                                                             title=alt.TitleParams(title))
    return _styled(chart, style)


# ---------------------------------------------------------------- export

def _vl_version() -> str | None:
    """The Vega-Lite version Altair writes, if this vl-convert bundles it (else its newest)."""
    import vl_convert
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def to_png(chart, scale: float = 2) -> bytes:
    """Render a chart to PNG bytes offline (vl-convert; no browser, no network)."""
    import vl_convert
    return vl_convert.vegalite_to_png(chart.to_json(), vl_version=_vl_version(), scale=scale)


def to_svg(chart) -> str:
    """Render a chart to an SVG document."""
    import vl_convert
    return vl_convert.vegalite_to_svg(chart.to_json(), vl_version=_vl_version())


def save(chart, path: str, scale: float = 2) -> str:
    """Write `chart` to `path` as .png or .svg (chosen by the extension); returns the path."""
    if path.lower().endswith(".svg"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_svg(chart))
    elif path.lower().endswith(".png"):
        with open(path, "wb") as f:
            f.write(to_png(chart, scale))
    else:
        raise ValueError(f"save: {path!r} should end in .png or .svg")
    return path
