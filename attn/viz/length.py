"""Charts against source sentence length: a metric per length bucket (Compare, and while training: Train),
the length histogram (Data)."""
from __future__ import annotations

from typing import Mapping, Sequence

import altair as alt
import pandas as pd

from attn.config import VARIANTS
from attn.records import METRIC_LABELS
from attn.viz.theme import (BAR_COLOR, family_dash, inline_data, message_chart, require_columns, styled, theme,
                            variant_color)
from attn.viz.theme import present as in_model_order

BAND = {"minmax": "min–max over seeds", "std": "±1 std over seeds"}
MIN_SENTENCES = 30   # a bucket with fewer test sentences is drawn hollow: too few to trust its score
CHECKPOINT_MIN_SENTENCES = 5  # the same at checkpoints, whose validation sample has at most 16 per bucket
UNSEEN_NOTE = "longer than any training sentence"
UNSEEN_COLOR = "#7F7F7F"
PARAMS_TOLERANCE = 0.20  # issue 12: RNNs and Transformers on one chart have parameter counts within 20 %


def parameter_note(params: Mapping[str, int], present=None) -> str | None:
    """'parameters: none 10.2k, dec·rope 11.0k (within 20 % of each other)' when RNNs (attn.config.VARIANTS)
    and Transformers are both among `present` (default: every label of `params`); else None.

    Within 20 %: the largest count is at most 1.2 x the smallest.
    """
    counts = {v: int(n) for v, n in params.items() if n is not None and n == n and (present is None or v in present)}
    if not counts or not any(v in VARIANTS for v in counts) or all(v in VARIANTS for v in counts):
        return None
    listed = ", ".join(f"{v} {counts[v] / 1000:.1f}k" for v in in_model_order(counts))
    ratio = max(counts.values()) / max(1, min(counts.values()))
    verdict = (f"within {PARAMS_TOLERANCE:.0%} of each other" if ratio <= 1 + PARAMS_TOLERANCE
               else f"NOT within {PARAMS_TOLERANCE:.0%}: the largest has {ratio:.1f}x the smallest")
    return f"parameters: {listed} ({verdict})"


def _wrap_note(note: str, width: int) -> list[str]:
    """parameter_note's line in lines of at most about `width` characters (nine models' counts are wider
    than a chart), broken between models and before the verdict in brackets, never inside either."""
    listing, verdict = note.rsplit(" (", 1)
    models = listing.split(", ")
    parts = [m + "," for m in models[:-1]] + [models[-1], "(" + verdict]
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append(part)
    return lines


def describe_by_length(summary: pd.DataFrame, metric: str) -> str:
    """What the chosen runs show, from `bucket_summary` rows: which model falls most from the shortest to
    the longest bucket, which holds best, and which buckets are too small to trust (n < MIN_SENTENCES).

    The first and last buckets are those with at least MIN_SENTENCES sentences where there are such.
    """
    if summary.empty:
        return f"No {METRIC_LABELS[metric]} for these runs."
    label = METRIC_LABELS[metric]
    by_lo = summary.sort_values("lo", kind="stable")
    trusted = by_lo[by_lo["n"] >= MIN_SENTENCES]
    rows = trusted if trusted["bucket"].nunique() >= 2 else by_lo
    buckets = list(dict.fromkeys(rows["bucket"]))
    if len(buckets) < 2:
        text = f"These runs have {label} for one length bucket only ({buckets[0]}): nothing to compare by length."
    else:
        first, last = buckets[0], buckets[-1]
        means = rows.pivot_table(index="variant", columns="bucket", values="mean", aggfunc="mean")
        both = means[[first, last]].dropna()
        if both.empty:
            text = f"No model has {label} in both the shortest ({first}) and the longest ({last}) bucket."
        else:
            change = (both[last] - both[first]).sort_values(kind="stable")
            worst, best = change.index[0], change.index[-1]
            text = (f"In these runs, **{worst}** falls most from the shortest to the longest bucket "
                    f"({both.loc[worst, first]:.1f} → {both.loc[worst, last]:.1f} {label}, source lengths "
                    f"{first} → {last})")
            text += (f"; **{best}** holds best ({both.loc[best, first]:.1f} → {both.loc[best, last]:.1f})."
                     if best != worst else ".")
    few = list(dict.fromkeys(by_lo.loc[by_lo["n"] < MIN_SENTENCES, "bucket"]))
    if few:
        counts = by_lo.drop_duplicates("bucket").set_index("bucket")["n"]
        why = "left out of that comparison" if rows is trusted else "too few to trust, so read that with care"
        text += (f" Buckets with fewer than {MIN_SENTENCES} test sentences are hollow, {why}: "
                 + ", ".join(f"{b} (n = {int(counts[b])})" for b in few) + ".")
    return text


def bucket_summary(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per variant x bucket over seeds: bucket, lo, hi, n, mean, std, min, max, seeds (rows, by lo).

    When `df` has an `unseen` column that is true somewhere (records.BucketRow.unseen: every source in
    the bucket is longer than any training source), the summary has one too: true where every run says so.
    """
    require_columns(df, ["variant", "seed", "bucket", "lo", "n", metric], "bucket_summary")
    frame = df.assign(value=pd.to_numeric(df[metric], errors="coerce")).dropna(subset=["value"])
    if frame.empty:
        return pd.DataFrame(columns=["variant", "bucket", "lo", "hi", "n", "mean", "std", "min", "max", "seeds"])
    hi = frame["hi"] if "hi" in frame else frame["lo"]
    unseen = {}
    if "unseen" in frame and frame["unseen"].fillna(False).astype(bool).any():
        frame = frame.assign(unseen=frame["unseen"].fillna(False).astype(bool))
        unseen = {"unseen": ("unseen", "all")}
    summary = (frame.assign(hi=hi).groupby(["variant", "bucket"], sort=False)
               .agg(lo=("lo", "min"), hi=("hi", "max"), n=("n", "max"), mean=("value", "mean"),
                    std=("value", "std"), min=("value", "min"), max=("value", "max"),
                    seeds=("seed", "nunique"), **unseen)
               .reset_index())
    summary["std"] = summary["std"].fillna(0.0)
    return summary.sort_values(["lo", "variant"], kind="stable").reset_index(drop=True)


def metric_by_bucket(df: pd.DataFrame, metric: str = "bleu", style: str = "screen", band: str = "minmax",
                     params: Mapping[str, int] | None = None, note: str | None = None,
                     min_sentences: int = MIN_SENTENCES):
    """`metric` against source-length bucket, one line per variant (Bahdanau et al. 2015, Fig. 2).

    df: one row per run x bucket with columns variant, seed, bucket (label, e.g. "10-19"), lo, hi, n
    and the metric (bleu, chrf, exact, token_acc, align, aer; null where it does not apply). Lines
    are the mean over seeds; with two or more seeds a shaded band shows the spread (band="minmax":
    min to max, "std": mean +- 1 std). Buckets are ordered by `lo`.

    Train short, test long: with an `unseen` column true for some buckets (records.BucketRow.unseen), a
    shaded region covers them ("longer than any training sentence") and a rule ends the last bucket of
    lengths seen in training. A bucket of fewer than MIN_SENTENCES test sentences is drawn hollow and
    pale, its tooltip saying so ("n = 7: too few sentences to trust"). Without either, the chart is as
    it always was.

    params: model label -> parameter count; when RNNs and Transformers share the chart, a subtitle line
    gives each count and says whether they are within PARAMS_TOLERANCE of each other (`parameter_note`).
    note: a first subtitle line saying what is drawn, e.g. a checkpoint's step (`checkpoint_note`).
    min_sentences: fewer sentences than this in a bucket draw it hollow (a checkpoint's validation sample
    is smaller than a test split: CHECKPOINT_MIN_SENTENCES).
    """
    th = theme(style)
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
    unseen = _unseen_buckets(summary, order)
    few = summary["n"] < min_sentences
    if few.any():
        summary["few"] = few
        summary["note"] = [f"n = {n}: too few sentences to trust" if f else "" for n, f in zip(summary["n"], few)]
    # Unseen buckets are shaded band by band, so the scale becomes a band scale without gaps (the
    # lines still run through the band centres); otherwise the x channel is as it always was.
    scale = {"scale": alt.Scale(type="band", paddingInner=0, paddingOuter=0)} if unseen else {}
    x = alt.X("bucket:O", sort=order, title="source length (tokens)",
              axis=alt.Axis(labelAngle=0, labelOverlap="greedy"), **scale)
    y = alt.Y("mean:Q", title=label, scale=alt.Scale(zero=False, nice=True))
    color = variant_color(summary["variant"])
    tooltip = [alt.Tooltip("variant:N"), alt.Tooltip("bucket:N", title="source length"),
               alt.Tooltip("n:Q", title="n (sentences)"), alt.Tooltip("mean:Q", format=".1f"),
               alt.Tooltip("std:Q", format=".1f"), alt.Tooltip("seeds:Q")]
    base = alt.Chart().encode(x=x, color=color)
    layers = _unseen_layers(unseen, order, x, th) if unseen else []
    if max_seeds >= 2:
        band_layer = (base.transform_filter("datum.seeds >= 2").mark_area(opacity=0.18)
                      .encode(y=alt.Y("band_lo:Q", title=label), y2="band_hi:Q"))
        layers.append(band_layer)
    line = base.mark_line().encode(y=y)
    if not set(summary["variant"]) <= set(VARIANTS):  # Transformers beside RNNs: dashed, so 9 lines read apart
        line = line.encode(strokeDash=family_dash(summary["variant"]))
    layers.append(line)
    if few.any():
        layers += [base.transform_filter("!datum.few").mark_point(filled=True, opacity=1).encode(y=y, tooltip=tooltip),
                   base.transform_filter("datum.few").mark_point(filled=False, opacity=0.45)
                   .encode(y=y, tooltip=[*tooltip, alt.Tooltip("note:N", title="note")])]
    else:
        layers.append(base.mark_point(filled=True, opacity=1).encode(y=y, tooltip=tooltip))
    if max_seeds >= 2:
        subtitle = f"mean over {max_seeds} seeds; band: {BAND[band]}"
    else:
        subtitle = "one seed per variant (no spread shown)"
    if unseen:
        subtitle += f"; shaded: {UNSEEN_NOTE}"
    if few.any():
        subtitle += f"; hollow: fewer than {min_sentences} sentences"
    params_note = parameter_note(params or {}, present=set(summary["variant"]))
    lines = [subtitle, *_wrap_note(params_note, int(th.width / (0.55 * th.subtitle)))] if params_note else subtitle
    if note:
        lines = [note, *([lines] if isinstance(lines, str) else lines)]
    chart = alt.layer(*layers, data=inline_data(summary)).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams(f"{label} by source sentence length", subtitle=lines))
    return styled(chart, style)


def _unseen_buckets(summary: pd.DataFrame, order: list[str]) -> list[str]:
    """The buckets every run marks unseen, in `order`; [] without an `unseen` column."""
    if "unseen" not in summary:
        return []
    marked = set(summary.groupby("bucket")["unseen"].all().loc[lambda s: s].index)
    return [b for b in order if b in marked]


def _unseen_layers(unseen: list[str], order: list[str], x: alt.X, th) -> list:
    """A shaded band over each unseen bucket, a rule at the end of the last seen one, and the region's name."""
    shade = (alt.Chart(inline_data(pd.DataFrame({"bucket": unseen, "note": UNSEEN_NOTE})))
             .mark_rect(color=UNSEEN_COLOR, opacity=0.12)
             .encode(x=x, tooltip=[alt.Tooltip("bucket:N", title="source length"), alt.Tooltip("note:N", title="")]))
    first = pd.DataFrame({"bucket": [unseen[0]], "note": [UNSEEN_NOTE]})
    name = (alt.Chart(inline_data(first)).mark_text(align="left", baseline="top", dx=4, dy=4, color=UNSEEN_COLOR,
                                                    fontSize=th.label)
            .encode(x=alt.X("bucket:O", sort=order, bandPosition=0), y=alt.value(0), text="note:N"))
    seen = [b for b in order if b not in unseen]
    if not seen or order.index(unseen[0]) == 0:
        return [shade, name]
    last_seen = pd.DataFrame({"bucket": [seen[-1]], "what": ["last bucket of lengths seen in training"]})
    rule = (alt.Chart(inline_data(last_seen)).mark_rule(color=UNSEEN_COLOR, strokeDash=[5, 3])
            .encode(x=alt.X("bucket:O", sort=order, bandPosition=1), tooltip=[alt.Tooltip("what:N", title="")]))
    return [shade, rule, name]


def length_histogram(lengths: Sequence[int], edges: Sequence[int], style: str = "screen"):
    """Sentences per source length, with the bucket edges as labelled vertical rules.

    Bucket k holds lengths in [edges[k], edges[k+1]) as in `attn.data.bucket_edges`; each rule sits
    between the last length of one bucket and the first of the next.
    """
    th = theme(style)
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
    bars = alt.Chart(inline_data(counts)).mark_rect(color=BAR_COLOR, stroke="white", strokeWidth=0.5).encode(
        x=x, x2="x1:Q", y=alt.Y("count:Q", title="sentences", scale=y_scale), y2=alt.datum(0),
        tooltip=[alt.Tooltip("length:Q"), alt.Tooltip("count:Q", title="sentences")])
    layers = [bars]
    if len(edges):
        layers.append(alt.Chart(inline_data(rules)).mark_rule(color="#444", strokeDash=[5, 3]).encode(
            x="edge:Q", tooltip=[alt.Tooltip("first:Q", title="bucket starts at")]))
    if len(buckets):
        layers.append(alt.Chart(inline_data(buckets)).mark_text(fontSize=th.label, baseline="middle", lineBreak="\n")
                      .encode(x="mid:Q", y=alt.Y("y:Q", scale=y_scale),
                              text=alt.Text("text:N"), tooltip=[alt.Tooltip("label:N", title="bucket"), alt.Tooltip("n:Q")])
                      .transform_calculate(text="datum.label + '\\n' + 'n=' + datum.n"))
    chart = alt.layer(*layers).properties(
        width=th.width, height=th.height,
        title=alt.TitleParams("Source sentence lengths", subtitle="dashed rules: length-bucket edges"))
    return styled(chart, style)


# ------------------------------------------------------------------------------ while training (checkpoints)

def at_checkpoint(checkpoints: pd.DataFrame, runs: pd.DataFrame, progress: float = 1.0) -> pd.DataFrame:
    """The bucket rows `metric_by_bucket` takes, from stored checkpoints (store.checkpoint_buckets): per run
    its newest checkpoint at or before `progress` (0..1) of its last stored step (1.0: its newest), with the
    run's variant and seed from `runs` (id, variant, seed). Columns: run_id, variant, seed, step, epoch,
    seconds, bucket, lo, hi, n and the metrics; runs without a checkpoint with bucket metrics are left out
    (the first checkpoint, before training, has none).
    """
    require_columns(checkpoints, ["run_id", "step", "bucket"], "at_checkpoint")
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be a share of training between 0 and 1, got {progress}")
    who = runs.rename(columns={"id": "run_id"})[["run_id", "variant", "seed"]]
    scored = checkpoints.dropna(subset=["bucket"])
    if scored.empty:
        return scored.assign(variant=pd.Series(dtype=str), seed=pd.Series(dtype=int))
    last = scored.groupby("run_id")["step"].transform("max")
    upto = scored[scored["step"] <= progress * last]
    newest = upto[upto["step"] == upto.groupby("run_id")["step"].transform("max")]
    return newest.merge(who, on="run_id", how="inner").reset_index(drop=True)


def checkpoint_note(rows: pd.DataFrame) -> str:
    """The by-length chart's first subtitle line at checkpoints: which steps are drawn, on what sentences."""
    if rows.empty:
        return "no checkpoint with bucket scores yet"
    steps = sorted(set(int(s) for s in rows["step"]))
    epochs = rows.groupby("run_id")["epoch"].max()
    at = f"step {steps[0]:,}" if len(steps) == 1 else f"steps {steps[0]:,}–{steps[-1]:,}"
    return (f"while training: {at} (epoch {epochs.min():.1f}" + (f"–{epochs.max():.1f}" if epochs.max() > epochs.min()
            else "") + "), greedy decodes of a validation sample")


def longest_bucket_gap(rows: pd.DataFrame, metric: str = "bleu", baseline: str = "none") -> float | None:
    """How far the best other variant is above `baseline` on the longest bucket (largest `lo`) of the rows
    `at_checkpoint` gives, in the metric's units (mean over seeds); None while either is missing."""
    known = rows.dropna(subset=[metric])
    if known.empty:
        return None
    longest = known[known["lo"] == known["lo"].max()]
    means = longest.groupby("variant")[metric].mean()
    others = means.drop(baseline, errors="ignore")
    if baseline not in means or others.empty:
        return None
    return float(others.max() - means[baseline])
