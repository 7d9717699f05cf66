"""What the run store costs: per training step at the lecture preset, and per dashboard read.

    python benchmarks/bench_store.py [--runs 200] [--epochs 8]

1. Overhead per step: the lecture preset (additive attention, one torch thread as a job worker has
   on two cores) trained twice with the same seed, once without callbacks and once recording into
   the store. Printed: the time spent inside the store's callback per step (exact, measured around
   each call) and the wall-time difference of the two trainings (noisier), both as a share of a step.
2. Reads: that run saved `--runs` times (different seeds, so different runs), then the time to read
   one run's step curve, epoch curve and bucket table -- what the dashboard draws -- from a fresh
   connection, over random runs.
Figures are printed, never asserted. Everything happens in a temporary folder, never in ./runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import tempfile
import time


import torch  # noqa: E402

from attn.config import preset# noqa: E402
from attn.training.experiment import prepare, run# noqa: E402
from attn.runs.store import RunStore# noqa: E402


def step_overhead(store: RunStore, epochs: int):
    """-> (result, steps, seconds in the store callback, training seconds with, without the store)."""
    lecture = preset("lecture")
    cfg = dataclasses.replace(lecture, train=dataclasses.replace(lecture.train, epochs=epochs))
    prepared = prepare(cfg.data)
    run(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=1)), prepared)  # warm up
    bare = run(cfg, prepared)

    run_id = store.create_run(cfg, status="running")
    record = store.recorder(run_id)
    spent = [0.0]

    def timed(event):
        start = time.perf_counter()
        record(event)
        spent[0] += time.perf_counter() - start

    recorded = run(cfg, prepared, callbacks=[timed])
    store.save_result(run_id, recorded)
    steps = recorded.training.steps[-1]["step"]
    return recorded, steps, spent[0], recorded.train_seconds, bare.train_seconds


def read_times(store: RunStore, ids: list[str], repeats: int = 50) -> tuple[float, list[float]]:
    """-> (first read on a fresh connection, later reads) in seconds; each read = curves x2 + buckets."""
    reader = RunStore(store.home)
    times = []
    rng = random.Random(0)
    for _ in range(repeats + 1):
        run_id = rng.choice(ids)
        start = time.perf_counter()
        reader.curves(run_id, "step")
        reader.curves(run_id, "epoch")
        reader.buckets(run_id)
        times.append(time.perf_counter() - start)
    return times[0], times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs in the store for the read test")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the lecture-preset training")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a job worker's share of a 2-core machine running two jobs

    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(folder)
        result, steps, spent, with_store, without = step_overhead(store, args.epochs)
        step = without / steps
        print(f"lecture preset, additive, {args.epochs} epochs = {steps} steps, "
              f"{torch.get_num_threads()} torch thread, event every {result.config.train.log_every} steps")
        print(f"  step time without the store     {1000 * step:7.2f} ms")
        print(f"  store callback per step         {1000 * spent / steps:7.3f} ms = "
              f"{100 * spent / without:.2f}% of a step")
        print(f"  training wall time with / without  {with_store:.2f}s / {without:.2f}s "
              f"({100 * (with_store - without) / without:+.1f}%, includes run-to-run noise)")

        start = time.perf_counter()
        ids = [store.save_finished(result.config.with_variant("additive", seed=seed), result)
               for seed in range(1, args.runs)]
        save = (time.perf_counter() - start) / max(1, len(ids))
        ids.append(store.runs()["id"].iloc[-1])
        size = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)
                   if name.startswith("runs.sqlite"))
        print(f"\n{len(ids)} runs stored ({len(result.decodes)} test decodes each, {len(result.training.steps)} "
              f"step rows): save_result {1000 * save:.0f} ms per run, database {size / 2**20:.0f} MB")
        first, later = read_times(store, ids)
        print(f"  curves (step + epoch) + bucket table of one run: first {1000 * first:.1f} ms, then median "
              f"{1000 * statistics.median(later):.2f} ms, max {1000 * max(later):.2f} ms")
        start = time.perf_counter()
        listing = store.runs()
        print(f"  runs() listing of {len(listing)} runs: {1000 * (time.perf_counter() - start):.1f} ms")
        start = time.perf_counter()
        decodes = store.decodes(ids[0])
        print(f"  decodes() of one run ({len(decodes)} sentences with both matrices): "
              f"{1000 * (time.perf_counter() - start):.1f} ms")


if __name__ == "__main__":
    main()
