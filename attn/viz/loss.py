"""Loss curves: train and valid loss per run (Curves page, CLI figures) and the Train page's live chart."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from attn.viz.theme import Theme, inline_data, message_chart, present, require_columns, styled, theme, variant_color

LOSS_X = {"step": "training step", "epoch": "epoch", "elapsed": "seconds since start"}
MAX_POINTS_PER_RUN = 400        # loss curves are thinned beyond this; the shape survives, the browser copes


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
    require_columns(df, ["run_id", "variant", x, "train_loss"], "loss curves")
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


def _loss_layer(long: pd.DataFrame, x: str, log_y: bool, smoothing: float, th: Theme,
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
    base = alt.Chart().encode(x=enc_x, y=enc_y, color=variant_color(long["variant"]), detail="run_id:N",
                              tooltip=tooltip)
    layers = []
    if smoothing > 0:  # the raw train curve, faint, behind the smoothed one
        layers.append(base.transform_filter("datum.curve == 'train'").mark_line(opacity=0.22, strokeWidth=1)
                      .encode(y=alt.Y("raw:Q", scale=y_scale, title=y_title)))
    layers.append(base.mark_line().encode(strokeDash=dash))
    if live:  # the newest value of each run as a point: where it is now, and visible from the first step
        layers.append(base.transform_filter("datum.curve == 'train' && datum.last").mark_point(filled=True, opacity=1))
    layers.append(base.transform_filter("datum.curve == 'valid'").mark_point(filled=True, opacity=1, shape="diamond"))
    return alt.layer(*layers, data=inline_data(long))


def loss_curves(df: pd.DataFrame, x: str = "step", log_y: bool = False, smoothing: float = 0.0,
                layout: str = "overlay", style: str = "screen"):
    """Train (solid) and valid (dashed, with points) loss per run; colour = variant.

    df: training log rows with run_id, name (display label), variant, seed, step, epoch, elapsed,
    train_loss, valid_loss (valid only on epoch rows; NaN elsewhere). layout="overlay": every run on
    one chart; "side_by_side": one panel per variant with a shared y scale. smoothing: EMA weight in
    [0, 0.99] on the train curve (the raw curve stays faintly behind it).
    """
    th = theme(style)
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
        return styled(layer.properties(width=th.width, height=th.height, title=title), style)
    return styled(_facet_by_variant(layer, long, th, title), style)


PANELS_PER_ROW = 4  # more models than this (the length study's nine) wrap to further rows of panels


def _facet_by_variant(layer: alt.LayerChart, long: pd.DataFrame, th: Theme, title) -> alt.FacetChart:
    """One panel per model in one row of the chart's width; past PANELS_PER_ROW, rows of that many."""
    shown = present(long["variant"])
    per_row = min(len(shown), PANELS_PER_ROW)
    panel = max(int((th.width - 24 * (per_row - 1)) / per_row), th.width // 4, 150)
    facet = alt.Facet("variant:N", sort=shown, title=None, header=alt.Header(labelFontWeight="bold"))
    sized = layer.properties(width=panel, height=int(th.height * 0.8))
    chart = (sized.facet(column=facet, title=title, spacing=24) if len(shown) <= PANELS_PER_ROW
             else sized.facet(facet=facet, columns=PANELS_PER_ROW, title=title, spacing=24))
    return chart.resolve_scale(y="shared", x="independent")


def live_loss_chart(df: pd.DataFrame | None, style: str = "screen", marks: pd.DataFrame | None = None):
    """The Train page's chart of running jobs: loss against step, one panel per variant.

    df: the rows logged so far (run_id, name, variant, seed, step, train_loss, optional valid_loss).
    The newest value of each run is drawn as a point, so a run with a single logged step shows; with
    no rows the chart says it is waiting for the first steps.
    marks: steps to mark with a rule and a label in their run's panel (`alignment_marks`: where the
    probe maps first reach the gold alignment), columns run_id, step, label.
    """
    th = theme(style)
    parts = live_loss_parts(df, marks)
    if parts is None:
        return message_chart("waiting for the first steps…", style)
    _, long = parts
    marked = "label" in long
    curves = long[long["curve"] != MARK_CURVE] if marked else long
    layer = _loss_layer(curves, "step", log_y=False, smoothing=0.0, th=th, live=True)
    if marked:  # the marks travel in the same rows (a faceted chart has one data set), filtered apart
        layers = [child.transform_filter(f"datum.curve != '{MARK_CURVE}'") for child in layer.layer]
        rule = alt.Chart().transform_filter(f"datum.curve == '{MARK_CURVE}'").encode(
            x=alt.X("x:Q"), color=variant_color(long["variant"]),
            tooltip=[alt.Tooltip("name:N", title="run"), alt.Tooltip("label:N", title="mark")])
        layers += [rule.mark_rule(strokeDash=[3, 3], strokeWidth=th.line),
                   rule.mark_text(align="left", dx=4, baseline="top", fontSize=th.label).encode(
                       y=alt.value(4), text="label:N")]
        layer = alt.layer(*layers, data=inline_data(long))
    title = alt.TitleParams("Loss while training", subtitle=[f"dotted rule: {MARK_NOTE}"] if marked else [])
    return styled(_facet_by_variant(layer, long, th, title), style)


MARK_CURVE = "mark"  # the curve value of a mark's row in the live chart's rows
MARK_NOTE = "the probe maps first reach alignment ≥ 0.8 with the gold links"


def alignment_marks(alignment: pd.DataFrame, threshold: float = 0.8) -> pd.DataFrame:
    """Per run, the first checkpoint whose probe maps reach `threshold` alignment with the gold links
    (store.checkpoint_alignment: run_id, step, alignment in 0..1) -> run_id, step, label."""
    reached = alignment[alignment["alignment"] >= threshold].sort_values(["run_id", "step"], kind="stable")
    first = reached.drop_duplicates("run_id")
    return pd.DataFrame({"run_id": first["run_id"], "step": first["step"].astype(int),
                         "label": [f"aligned ({a:.0%}) at step {int(s):,}" for a, s in
                                   zip(first["alignment"], first["step"])]}).reset_index(drop=True)


def live_loss_parts(df: pd.DataFrame | None, marks: pd.DataFrame | None = None) -> tuple[tuple, pd.DataFrame] | None:
    """(shape, rows) of `live_loss_chart(df, marks=marks)`: everything in its spec that depends on `df`
    is either the shape (the variants present, in drawing order, and whether marks are drawn) or the
    rows it draws (`loss_long(df, "step")`, plus a row per mark of a run in `df`). A page that redraws
    the chart every second builds the spec once per shape and swaps the rows in. None where the chart
    is the "waiting" message instead.
    """
    if df is None or len(df) == 0 or "train_loss" not in df or pd.to_numeric(df["train_loss"], errors="coerce").isna().all():
        return None
    long = loss_long(df, "step")
    marks = None if marks is None else marks[marks["run_id"].isin(set(long["run_id"]))]
    if marks is None or marks.empty:
        return tuple(present(long["variant"])), long
    who = long.drop_duplicates("run_id").set_index("run_id")[["name", "variant", "seed"]]
    rows = marks.join(who, on="run_id").assign(x=marks["step"].astype(float), curve=MARK_CURVE, loss=np.nan,
                                                raw=np.nan, last=False)
    long = pd.concat([long.assign(label=""), rows[[*long.columns, "label"]]], ignore_index=True)
    return (*present(long["variant"]), "marks"), long
