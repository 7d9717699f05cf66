"""Train short, test long: every run of the `length` preset, trained in parallel; figures printed.

    python benchmarks/length_preset.py                          # seed 0: 9 runs, 2 at a time
    python benchmarks/length_preset.py --seeds 0,1,2 --json docs/length-3seeds.json

The preset (attn.config.length_configs) reverses sources of 2-20 tokens in training and 2-40 in the
test: the RNN without attention, with additive and with dot attention, and a decoder-only Transformer
with each positional encoding (sinusoidal, learned, RoPE, ALiBi, T5 bias, none), all with the same data,
steps, learning-rate schedule and seeds. Runs go through the job runner (attn.runs.runner.JobRunner)
into a temporary store, `--jobs` worker processes at once, one torch thread each; the Transformers are
queued first (they take longest). Printed: the wall time from the first submission to the last result,
each run's parameters and train/eval seconds, and BLEU and exact match per length bucket and model
(mean over seeds); buckets past the longest training source are marked `*`. The training range and
each bucket's `unseen` flag come back from the store (the training range is kept with the overall
metrics there).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from attn.config import RunConfig, length_configs
from attn.records import bucket_frame
from attn.runs.plans import parse_seeds
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore

PARAMS_SPREAD = 1.2  # largest / smallest parameter count the preset promises


def label(cfg: RunConfig) -> str:
    """The model of a run in one word pair: "rnn additive", "transformer rope"."""
    if cfg.model.family == "transformer":
        return f"transformer {cfg.model.positions}"
    return f"rnn {cfg.model.variant}"


def train_all(configs: list[RunConfig], home: Path, jobs: int) -> tuple[list[dict], float]:
    """Train every config (none answered from a cache) -> (one record per run, wall seconds)."""
    store = RunStore(home)
    runner = JobRunner(store, max_jobs=jobs, nice=0)
    order = sorted(range(len(configs)), key=lambda i: configs[i].model.family != "transformer")  # stable
    start = time.perf_counter()
    try:
        ids = runner.submit_many([configs[i] for i in order], cache=False,
                                 names=[f"{label(configs[i])} seed {configs[i].seed}" for i in order])
        statuses = runner.wait_many(ids)
    finally:
        runner.shutdown()
    wall = time.perf_counter() - start
    failed = {run_id: status for run_id, status in statuses.items() if status != "done"}
    if failed:
        errors = "; ".join(f"{run_id} {status}: {store.run(run_id).error}" for run_id, status in failed.items())
        raise SystemExit(f"{len(failed)} of {len(ids)} runs did not finish: {errors}")
    records = [None] * len(configs)
    for i, run_id in zip(order, ids):
        records[i] = stored_record(store, run_id, configs[i])
    return records, wall


def stored_record(store: RunStore, run_id: str, cfg: RunConfig) -> dict:
    """One run as stored: model, seed, sizes, seconds, training range and bucket rows with `unseen`."""
    run = store.run(run_id)
    overall = run.overall
    train_max = int(overall["train_max_len"])
    rows = [row.past_training(train_max) for row in store.bucket_rows(run_id)]  # the store keeps no flag
    return {"model": label(cfg), "family": cfg.model.family, "variant": cfg.model.variant,
            "positions": cfg.model.positions if cfg.model.family == "transformer" else None,
            "seed": cfg.seed, "params": run.params, "train_seconds": round(run.train_seconds, 2),
            "eval_seconds": round(run.eval_seconds, 2), "train_min_len": int(overall["train_min_len"]),
            "train_max_len": train_max, "overall_bleu": overall["bleu"], "overall_exact": overall["exact"],
            "buckets": [dataclasses.asdict(row) for row in rows]}


def bucket_table(records: list[dict]) -> pd.DataFrame:
    """Models x buckets, each cell "BLEU / exact" (means over seeds); unseen bucket labels end in `*`."""
    from attn.records import BucketRow
    frame = bucket_frame(((r, BucketRow(**b)) for r in records for b in r["buckets"]), identity=("model", "seed"))
    frame["column"] = frame["bucket"] + frame["unseen"].map({True: "*", False: ""})
    means = frame.groupby(["model", "lo", "column"], sort=False)[["bleu", "exact"]].mean().reset_index()
    means["cell"] = [f"{b:5.1f} / {e:5.1f}" for b, e in zip(means["bleu"].fillna(float("nan")), means["exact"])]
    table = means.sort_values("lo", kind="stable").pivot(index="model", columns="column", values="cell")
    columns = list(dict.fromkeys(means.sort_values("lo", kind="stable")["column"]))
    models = list(dict.fromkeys(r["model"] for r in records))
    return table.loc[models, columns]


def report(records: list[dict], wall: float, jobs: int) -> None:
    runs = pd.DataFrame(records)
    print(f"\n{len(records)} runs, {jobs} at a time: wall time {wall:.1f} s "
          f"(train {runs['train_seconds'].sum():.1f} s + eval {runs['eval_seconds'].sum():.1f} s summed over runs); "
          f"load average {os.getloadavg()[1]:.1f} over the last 5 min on {os.cpu_count()} cores")
    per_model = (runs.groupby("model", sort=False)
                 .agg(params=("params", "first"), train_s=("train_seconds", "mean"), eval_s=("eval_seconds", "mean"),
                      seeds=("seed", "nunique")))
    print("\nwhere the time goes (mean seconds per run):")
    print(per_model.to_string(float_format=lambda v: f"{v:.1f}"))
    lo, hi = runs["params"].min(), runs["params"].max()
    verdict = "within" if hi <= PARAMS_SPREAD * lo else "NOT within"
    print(f"\nparameters: {lo:,} .. {hi:,} (largest / smallest = {hi / lo:.3f}, {verdict} {PARAMS_SPREAD:g})")
    first = records[0]
    print(f"\ntraining sources {first['train_min_len']}-{first['train_max_len']} tokens; buckets marked * hold "
          f"only longer sources (unseen lengths). Cells: BLEU / exact match (%), mean over "
          f"{runs['seed'].nunique()} seed(s); n per bucket: "
          + ", ".join(f"{b['bucket']} {b['n']}" for b in first["buckets"]))
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(bucket_table(records).to_string())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0", help="e.g. 0, or 0,1,2, or 0-2 (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes at once, one torch thread each (default 2)")
    p.add_argument("--json", type=Path, help="write every run's record and the wall time here")
    args = p.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    configs = length_configs(seeds)
    print(f"training {len(configs)} runs ({len(configs) // len(seeds)} models x {len(seeds)} seed(s)), "
          f"{args.jobs} at a time", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="attn-length-") as home:
        records, wall = train_all(configs, Path(home), args.jobs)
    report(records, wall, args.jobs)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        blob = {"command": "python benchmarks/length_preset.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                "date": datetime.date.today().isoformat(), "jobs": args.jobs, "seeds": seeds,
                "wall_seconds": round(wall, 1), "runs": records}
        args.json.write_text(json.dumps(blob, indent=1) + "\n")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
