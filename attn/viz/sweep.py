"""A sweep's figure: a metric of one length bucket against the swept field, one line per variant, a band
over seeds, one small panel per bucket asked for (the Sweep page and `python -m attn sweep --figure`).

The tidy frame is attn.runs.sweep.sweep_points: one row per run x bucket (store.buckets() columns: run_id,
variant, seed, bucket, lo, hi, n and the metrics) with a column per swept field.
"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from attn.records import METRIC_LABELS
from attn.viz.length import BAND
from attn.viz.theme import inline_data, message_chart, present, require_columns, styled, theme, variant_color

SIZE_FIELDS = ("hidden", "emb", "ff", "n_train", "batch", "max_pairs", "subword_vocab")  # a log x axis
ENDS = ("longest", "shortest")   # each run's last or first bucket, whatever its edges


def pick_bucket(points: pd.DataFrame, bucket: str = "longest") -> pd.DataFrame:
    """One row per run: its `bucket` row (a label such as "34-40"), or with "longest" / "shortest" its
    bucket of the longest / shortest sources, so runs whose edges differ still line up. The `panel`
    column says which ("longest bucket (34-40)" when every run's is the same)."""
    require_columns(points, ["run_id", "bucket", "lo"], "pick_bucket")
    if bucket in ENDS:
        order = points.sort_values(["run_id", "lo"], kind="stable")
        rows = order.groupby("run_id", sort=False).tail(1) if bucket == "longest" else \
            order.groupby("run_id", sort=False).head(1)
        labels = sorted(set(rows["bucket"]))
        return rows.assign(panel=f"{bucket} bucket ({labels[0]})" if len(labels) == 1 else f"{bucket} bucket")
    rows = points[points["bucket"] == bucket]
    if rows.empty:
        valid = ", ".join([*ENDS, *dict.fromkeys(points.sort_values("lo")["bucket"])])
        raise ValueError(f"bucket {bucket!r} is not among these runs' buckets; valid: {valid}")
    return rows.assign(panel=f"bucket {bucket}")


def sweep_summary(points: pd.DataFrame, field: str, metric: str = "bleu",
                  buckets: Sequence[str] = ("longest",), by: Sequence[str] = ()) -> pd.DataFrame:
    """Over seeds, per panel x variant x value of `field`: mean, std, min, max, seeds (rows by panel, value).

    `buckets`: one panel each (pick_bucket); `by`: other swept fields, whose values split the panels
    further ("longest bucket · emb 32"), so no mean mixes runs that differ in more than their seed.
    """
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}")
    require_columns(points, ["run_id", "variant", "seed", field, metric], "sweep_summary")
    columns = ["panel", "variant", field, "mean", "std", "min", "max", "seeds"]
    if points.empty:
        return pd.DataFrame(columns=columns)
    frames = []
    for bucket in buckets:
        rows = pick_bucket(points, bucket)
        for name in by:
            rows = rows.assign(panel=rows["panel"] + f" · {name} " + rows[name].astype(str))
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(value=pd.to_numeric(rows[metric], errors="coerce")).dropna(subset=["value"])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    summary = (rows.groupby(["panel", "variant", field], sort=False)
               .agg(mean=("value", "mean"), std=("value", "std"), min=("value", "min"), max=("value", "max"),
                    seeds=("seed", "nunique")).reset_index())
    summary["std"] = summary["std"].fillna(0.0)
    panels = list(dict.fromkeys(rows["panel"]))
    summary["_panel"] = summary["panel"].map(panels.index)
    return summary.sort_values(["_panel", field], kind="stable").drop(columns="_panel").reset_index(drop=True)


def log_scale(field: str, values) -> bool:
    """A size (SIZE_FIELDS) with positive values spanning at least a factor of 4 is drawn on a log axis."""
    numbers = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    return (field in SIZE_FIELDS and len(numbers) > 0 and numbers.min() > 0
            and numbers.max() / numbers.min() >= 4)


def metric_by_field(points: pd.DataFrame, field: str, metric: str = "bleu", buckets: Sequence[str] = ("longest",),
                    style: str = "screen", band: str = "minmax", by: Sequence[str] = (), log_x: bool | None = None):
    """`metric` on one length bucket against the swept `field`, one line per variant in MODEL_ORDER, the
    mean over seeds with a band (band="minmax": min to max over seeds; "std": mean +- 1 std) when a
    variant has two or more seeds; one small panel per entry of `buckets` (and per value of `by`).

    log_x: None draws sizes (SIZE_FIELDS spanning a factor of 4 or more) on a log axis; True/False forces it.
    """
    th = theme(style)
    if band not in BAND:
        raise ValueError(f"band must be one of {', '.join(BAND)}, got {band!r}")
    label = METRIC_LABELS.get(metric, metric)
    summary = sweep_summary(points, field, metric, buckets, by)
    if summary.empty:
        return message_chart(f"no {label} for these cells yet", style)
    numeric = pd.api.types.is_numeric_dtype(summary[field])
    if band == "minmax":
        summary["band_lo"], summary["band_hi"] = summary["min"], summary["max"]
    else:
        summary["band_lo"], summary["band_hi"] = summary["mean"] - summary["std"], summary["mean"] + summary["std"]
    logarithmic = log_scale(field, summary[field]) if log_x is None else log_x
    values = list(dict.fromkeys(summary[field]))
    if numeric:
        x = alt.X(f"{field}:Q", title=field + (" (log scale)" if logarithmic else ""),
                  scale=alt.Scale(type="log", base=2) if logarithmic else alt.Scale(zero=False),
                  axis=alt.Axis(values=sorted(values), labelFlush=False))
    else:
        x = alt.X(f"{field}:O", sort=values, title=field, axis=alt.Axis(labelAngle=0))
    y = alt.Y("mean:Q", title=label, scale=alt.Scale(zero=False, nice=True))
    base = alt.Chart().encode(x=x, color=variant_color(summary["variant"]))
    tooltip = [alt.Tooltip("variant:N"), alt.Tooltip(f"{field}:{'Q' if numeric else 'N'}"),
               alt.Tooltip("mean:Q", format=".1f"), alt.Tooltip("min:Q", format=".1f"),
               alt.Tooltip("max:Q", format=".1f"), alt.Tooltip("std:Q", format=".1f"), alt.Tooltip("seeds:Q")]
    layers = []
    max_seeds = int(summary["seeds"].max())
    if max_seeds >= 2:
        layers.append(base.transform_filter("datum.seeds >= 2").mark_area(opacity=0.18)
                      .encode(y=alt.Y("band_lo:Q", title=label), y2="band_hi:Q"))
    layers += [base.mark_line().encode(y=y), base.mark_point(filled=True, opacity=1).encode(y=y, tooltip=tooltip)]
    panels = list(dict.fromkeys(summary["panel"]))
    subtitle = (f"mean over {max_seeds} seeds; band: {BAND[band]}" if max_seeds >= 2
                else "one seed per cell (no spread shown)")
    title = alt.TitleParams(f"{label} against {field}, by model", subtitle=subtitle)
    width = th.width if len(panels) == 1 else int(th.width * 0.62)
    layered = alt.layer(*layers).properties(width=width, height=th.height if len(panels) == 1 else int(th.height * 0.8))
    chart = layered.facet(facet=alt.Facet("panel:N", sort=panels, title=None), columns=min(3, len(panels)),
                          data=inline_data(summary)).properties(title=title)
    return styled(chart, style)


def cells_table(cells: pd.DataFrame, field: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """The grid as it fills: one row per value of `field` (and `by`), one column per variant in MODEL_ORDER,
    each cell 'done 2/3 · BLEU 41.2' (runs done of the seeds asked for, mean overall BLEU of those done)
    or the count still training or queued. `cells`: attn.runs.sweep.cell_frame."""
    require_columns(cells, ["variant", "seed", "status", "bleu", field], "cells_table")
    keys = [field, *by]
    rows = []
    for values, group in cells.groupby(keys):  # by value: 32, 64, 128, not the order cells ended in
        values = values if isinstance(values, tuple) else (values,)
        row = dict(zip(keys, values))
        for variant in present(group["variant"]):
            of = group[group["variant"] == variant]
            done = of[of["status"] == "done"]
            text = f"done {len(done)}/{len(of)}"
            if len(done):
                text += f" · BLEU {done['bleu'].astype(float).mean():.1f}"
            waiting = of["status"].isin(["queued", "running"]).sum()
            if waiting:
                text += f" · {waiting} to go"
            others = len(of) - len(done) - waiting
            if others:
                text += f" · {others} ended otherwise"
            row[variant] = text
        rows.append(row)
    return pd.DataFrame(rows)
