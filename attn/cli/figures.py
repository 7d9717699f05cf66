"""`python -m attn figures`: every figure of stored runs as PNG and SVG, drawn by the pages' own builders.

    python -m attn figures --runs latest --out figures/ --style slide
    python -m attn figures --runs 3f9a0c1e,77b2d0aa --out figures/ --metric bleu,chrf --sentences 4,17,230

For the chosen runs it writes, each as .png (twice the chart's size) and .svg:
    loss-curves-side-by-side   charts.loss_curves, one panel per variant (the Curves page)
    loss-curves-overlay        charts.loss_curves, every run on one chart
    <metric>-by-length         charts.metric_by_bucket, per metric that has values (the Compare page)
    attention-sentence-<i>     charts.attention_grid: test sentence i in every run with attention,
                               side by side (the Attention page)
    attention-forming-<model>  with --animate: the attention of each run's longest probe sentence at every
                               stored checkpoint, as an animated .gif (and .mp4 where an ffmpeg is present),
                               the checkpoint step written on each frame (attn.viz.animate)
Models come in one order everywhere (attn.config.MODEL_ORDER: none, additive, dot, general, then the
Transformers), whatever order the ids are given in.
`--runs latest` takes the newest done run of each variant among the runs of the most recently finished
comparison (runs trained with the same settings). An unknown run id is an error naming it (exit code 2).
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

import numpy as np

from attn.config import MODEL_ORDER
from attn.viz import animate, charts
from attn.viz import support as ds
from attn.records import METRICS, Decode
from attn.runs.store import RunStore, StoreError

DEFAULT_SENTENCES = 3  # one short, one medium, one long
MAX_SENTENCES = 20


def register(subparsers) -> None:
    """Add the `figures` command to the CLI's subparsers."""
    p = subparsers.add_parser("figures", help="write every figure of stored runs as PNG and SVG files")
    p.add_argument("--runs", required=True, metavar="ID[,ID...]|latest",
                   help="run ids separated by commas, or 'latest': the newest done run of each variant "
                        "in the most recently finished comparison")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the files (created if missing)")
    p.add_argument("--style", choices=charts.STYLES, default="slide",
                   help="slide: white background and large fonts, for slides (default); screen: the dashboard's")
    p.add_argument("--metric", metavar="M[,M...]",
                   help=f"metrics by length bucket, from: {', '.join(METRICS)} (default: every one with values)")
    p.add_argument("--sentences", default=str(DEFAULT_SENTENCES), metavar="N|I,J,...",
                   help="attention maps: a number N picks N test sentences from shortest to longest "
                        f"(default {DEFAULT_SENTENCES}: short, medium, long); a comma-separated list picks "
                        "those test sentence indices (one index: '17,')")
    p.add_argument("--animate", action="store_true",
                   help="also write how attention forms over training: each run's longest probe sentence at "
                        "every stored checkpoint, as a GIF (and an MP4 when imageio-ffmpeg or ffmpeg is present)")
    p.add_argument("--home", help="the run store folder (default: $ATTN_HOME, else ./runs)")
    p.set_defaults(func=cmd_figures)


def cmd_figures(args) -> int:
    try:
        store = RunStore(args.home)
        run_ids = in_model_order(store, resolve_runs(store, args.runs))
        metrics = parse_metrics(args.metric)
        sentences = parse_sentences(args.sentences)
        built = build_figures(store, run_ids, style=args.style, metrics=metrics, sentences=sentences)
        os.makedirs(args.out, exist_ok=True)
        paths = write_figures(built, args.out)
        if getattr(args, "animate", False):
            paths += write_animations(store, run_ids, args.out, style=args.style)
    except (StoreError, ValueError) as exc:  # ConfigError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    print(f"wrote {len(paths)} files for {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} "
          f"({' '.join(run_ids)}) to {args.out}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------ choosing what to draw

def resolve_runs(store: RunStore, spec: str) -> list[str]:
    """'ID,ID,...' (each checked) or 'latest' -> run ids, in the order given."""
    if spec.strip() == "latest":
        return latest_runs(store)
    ids = list(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    if not ids:
        raise ValueError("--runs: give run ids separated by commas (see `python -m attn runs list`), or 'latest'")
    for run_id in ids:
        store.status(run_id)  # an unknown id -> StoreError naming it
    return ids


def in_model_order(store: RunStore, run_ids: Sequence[str]) -> list[str]:
    """The run ids by model label in MODEL_ORDER (labels outside it last), then by seed, then as given: every
    figure lists its models in that one order (none, additive, dot, general, then the Transformers)."""
    rows = store.runs().set_index("id")
    order = {label: i for i, label in enumerate(MODEL_ORDER)}
    place = {rid: (order.get(rows.loc[rid, "variant"], len(order)), int(rows.loc[rid, "seed"]), i)
             for i, rid in enumerate(run_ids)}
    return sorted(run_ids, key=place.__getitem__)


def latest_runs(store: RunStore) -> list[str]:
    """The newest done run of each variant in the most recently finished comparison group."""
    runs = store.runs(status="done")
    if runs.empty:
        raise StoreError(f"--runs latest: no finished runs in {store.path}")
    configs = {rid: store.run(rid).config for rid in runs["id"]}
    group = ds.comparison_groups(runs, configs).iloc[0]["key"]
    newest = ds.latest_runs(runs, configs, group)  # newest per variant x seed, in variant order
    finished = dict(zip(runs["id"], runs["finished"]))
    variant = dict(zip(runs["id"], runs["variant"]))
    best: dict[str, str] = {}
    for rid in newest:
        if variant[rid] not in best or finished[rid] > finished[best[variant[rid]]]:
            best[variant[rid]] = rid
    return list(best.values())


def parse_metrics(text: str | None) -> list[str] | None:
    """'bleu,chrf' -> ['bleu', 'chrf']; None -> None (every metric with values)."""
    if text is None:
        return None
    metrics = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"--metric: unknown metric(s) {', '.join(unknown) or '(none given)'}; "
                         f"valid: {', '.join(METRICS)}")
    return metrics


def parse_sentences(text: str) -> int | list[int]:
    """'3' -> 3 (a count); '4,17' or '17,' -> [4, 17] / [17] (test sentence indices)."""
    text = str(text).strip()
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"--sentences takes a count (e.g. 3) or test sentence indices separated by commas "
                         f"(e.g. 4,17,230, or 17, for one), got {text!r}")
    if "," in text:
        return list(dict.fromkeys(int(part) for part in parts))
    if int(text) > MAX_SENTENCES:
        raise ValueError(f"--sentences: at most {MAX_SENTENCES} sentences, got {text}; "
                         "to choose one by its index, write it with a comma (e.g. 17,)")
    return int(text)


def spread_by_length(decodes: Sequence[Decode], n: int) -> list[int]:
    """`n` test sentence indices from the shortest source to the longest, evenly over the length range.

    For each target length (numpy.linspace(shortest, longest, n)) the sentence closest to it is taken,
    the lowest index among equals, never one twice: n=3 gives a short, a medium and a long sentence.
    """
    if n <= 0 or not decodes:
        return []
    lengths = np.array([len(d.src) for d in decodes])
    indices = np.array([d.index for d in decodes])
    chosen: list[int] = []
    for target in np.linspace(lengths.min(), lengths.max(), n):
        order = np.lexsort((indices, np.abs(lengths - target)))  # by distance, then index
        pick = next((int(indices[i]) for i in order if int(indices[i]) not in chosen), None)
        if pick is not None:
            chosen.append(pick)
    return chosen


# ------------------------------------------------------------------------------------- the figures

def build_figures(store: RunStore, run_ids: Sequence[str], style: str = "slide",
                  metrics: Sequence[str] | None = None,
                  sentences: int | Sequence[int] = DEFAULT_SENTENCES) -> list[tuple[str, object]]:
    """-> [(file stem, alt chart)] of the runs, drawn exactly as the pages draw them."""
    run_ids = in_model_order(store, run_ids)
    rows = store.runs().set_index("id").loc[run_ids]
    figures: list[tuple[str, object]] = []

    curves = ds.curves_frame(store.curves(run_ids), store.curves(run_ids, "epoch"))
    if len(curves):
        for layout in ("side_by_side", "overlay"):
            figures.append((f"loss-curves-{layout.replace('_', '-')}",
                            charts.loss_curves(curves, layout=layout, style=style)))
    else:
        _note("no loss curves stored for these runs")

    buckets = store.buckets(run_ids)
    for metric in metrics or METRICS:
        if buckets.empty or buckets[metric].isna().all():
            if metrics:  # asked for by name: say why it is missing
                _note(f"no {metric} values for these runs; {metric}-by-length not written")
            continue
        figures.append((f"{metric}-by-length", charts.metric_by_bucket(buckets, metric, style=style)))

    figures += attention_figures(store, run_ids, rows, style, sentences)
    return figures


def attention_figures(store: RunStore, run_ids: Sequence[str], rows, style: str,
                      sentences: int | Sequence[int]) -> list[tuple[str, object]]:
    """One attention grid per chosen test sentence: that sentence in every run with attention."""
    decodes = {rid: {d.index: d for d in store.decodes(rid)} for rid in run_ids}
    with_decodes = [rid for rid in run_ids if decodes[rid]]
    if not with_decodes:
        _note("no test decodes stored for these runs (not finished?); no attention maps written")
        return []
    first = with_decodes[0]
    if isinstance(sentences, int):
        indices = spread_by_length(list(decodes[first].values()), sentences)
    else:
        indices = list(sentences)
        missing = [i for i in indices if i not in decodes[first]]
        if missing:
            raise ValueError(f"--sentences: run {first} has no test sentence {', '.join(map(str, missing))}; "
                             f"its test set has indices 0 to {max(decodes[first])}")
    labels = _panel_labels(rows.loc[with_decodes])
    config = store.run(first).config
    data, figures, no_attention = None, [], set()
    for index in indices:
        src = decodes[first][index].src
        # The same index is the same sentence only on the same data: other runs are left out.
        chosen = {labels[rid]: decodes[rid][index] for rid in with_decodes
                  if index in decodes[rid] and decodes[rid][index].src == src}
        gold = None
        if not config["data"].get("corpus"):  # built-in tasks carry gold alignments, as on the page
            if data is None:
                data = _load_data(config)
            if index < len(data.test) and list(data.test[index].src) == list(src):
                gold = data.test[index].align
        items, without = ds.attention_items(chosen, "generated", gold)
        no_attention.update(without)
        if items:
            figures.append((f"attention-sentence-{index}", charts.attention_grid(items, style=style)))
    if no_attention:
        _note(f"no attention map for {', '.join(sorted(no_attention))}: a model without attention has none")
    return figures


# ------------------------------------------------------------------------ attention over training

def probe_frames(checkpoints, probe: int | None = None) -> tuple[list[str], list[str], list[tuple[int, object]]]:
    """checkpoints (attn.records.Checkpoint, oldest first) -> (source tokens, reference tokens, [(step, weights
    (T, S))]) of one probe sentence: `probe` (its index among the probes), else the longest source. Checkpoints
    without that probe's map are left out; no map at all (a model without attention) gives no frames."""
    if not checkpoints:
        return [], [], []
    probes = checkpoints[-1].probes
    if not probes:
        return [], [], []
    if probe is None:
        probe = max(range(len(probes)), key=lambda i: (len(probes[i].src), -i))
    src, tgt = list(probes[probe].src), list(probes[probe].tgt)
    steps = [(int(c.step), c.probes[probe].weights) for c in checkpoints
             if probe < len(c.probes) and list(c.probes[probe].src) == src and c.probes[probe].weights is not None]
    return src, tgt, steps


def write_animations(store: RunStore, run_ids: Sequence[str], out: str, style: str = "slide") -> list[str]:
    """attention-forming-<model>.gif (and .mp4 with an ffmpeg) per run with stored checkpoints -> the paths."""
    labels = _panel_labels(store.runs().set_index("id").loc[list(run_ids)])
    encoder = animate.mp4_encoder()
    paths, without = [], []
    for rid in run_ids:
        src, tgt, steps = probe_frames(store.checkpoints(rid))
        if not steps:
            without.append(labels[rid])
            continue
        frames = animate.render_frames(animate.attention_frames(src, tgt, steps, title=labels[rid], style=style))
        stem = os.path.join(out, f"attention-forming-{_file_part(labels[rid])}")
        paths.append(animate.save_animation(frames, stem + ".gif", caption=labels[rid]))
        if encoder:
            paths.append(animate.save_animation(frames, stem + ".mp4", caption=labels[rid]))
    if without:
        _note(f"no attention over training for {', '.join(without)} (no checkpoints stored, or a model without "
              "attention)")
    if paths and not encoder:
        _note("MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg) or ffmpeg on PATH; wrote the GIFs only")
    return paths


def _file_part(label: str) -> str:
    """A model label as part of a file name: 'dec·rope seed 1' -> 'dec-rope-seed-1'."""
    return "".join(c if c.isalnum() else "-" for c in label).strip("-")


def write_figures(figures: Sequence[tuple[str, object]], out: str, scale: float = 2) -> list[str]:
    """Each chart as <out>/<stem>.png (at `scale`) and .svg -> the paths written."""
    paths = []
    for stem, chart in figures:
        for ext in ("png", "svg"):
            paths.append(charts.save(chart, os.path.join(out, f"{stem}.{ext}"), scale=scale))
    return paths


def _panel_labels(rows) -> dict[str, str]:
    """Panel titles: the variant, with the seed (then the run id) only where that is ambiguous."""
    labels = {rid: row["variant"] for rid, row in rows.iterrows()}
    for refine in (lambda rid, row: f"{row['variant']} seed {row['seed']}",
                   lambda rid, row: f"{row['variant']} seed {row['seed']} ({rid})"):
        counts = {}
        for label in labels.values():
            counts[label] = counts.get(label, 0) + 1
        labels = {rid: refine(rid, row) if counts[labels[rid]] > 1 else labels[rid] for rid, row in rows.iterrows()}
    return labels


def _load_data(config: dict):
    from attn.config import RunConfig
    from attn.data.load import load_data
    return load_data(RunConfig.from_dict(config).data)


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)
