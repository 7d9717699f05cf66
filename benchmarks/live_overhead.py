"""What checkpoints while training cost and what they show: the lecture demo with them on and off.

    python benchmarks/live_overhead.py                  # lecture demo, seed 0, on then off, 3 workers
    python benchmarks/live_overhead.py --repeat 2 --order off,on

Each pass trains the Lecture demo (plans.lecture_configs: none, additive and dot on toy-fr) through the job
runner into a fresh temporary store, all three at once as the Home page's button does (ATTN_MAX_JOBS
default on 2 cores: 3), once with train.checkpoints on and once off (the same configs otherwise).
Printed per pass: the wall time from submission to the last result, each run's train seconds, the store's
size (runs.sqlite after a WAL checkpoint, plus the weights files) and, with checkpoints on, the checkpoints'
share of it; then, polling the store every POLL seconds as the Train page does, the seconds from
submission until the live chart first shows an attention variant >= GAP BLEU above none on the longest
bucket (each run's newest checkpoint, length.at_checkpoint + length.longest_bucket_gap), as a share of the
whole demo. Goals (issue 13): overhead <= 10 %, store growth <= 20 %, the gap shown before 40 % of the demo.
No asserts: it prints figures. The machine's load changes wall times; compare passes of one invocation.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from attn.runs.plans import lecture_configs
from attn.runs.runner import JobRunner
from attn.runs.schema import FINISHED
from attn.runs.store import RunStore
from attn.viz.length import at_checkpoint, longest_bucket_gap

POLL = 0.5   # seconds between looks at the store, about the Train page's refresh (1 s)
GAP = 20.0   # BLEU by which an attention variant must lead none on the longest bucket


def store_bytes(home: Path) -> tuple[int, int]:
    """(bytes of runs.sqlite + weights after folding the WAL in, bytes of the checkpoint tables' rows)."""
    db = sqlite3.connect(home / "runs.sqlite")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    # the payload of the checkpoint rows: what the store grows by (pages hold some slack besides)
    blob = db.execute("SELECT COALESCE(SUM(LENGTH(buckets)), 0) + COUNT(*) * 24 FROM checkpoints").fetchone()[0]
    blob += db.execute("SELECT COALESCE(SUM(LENGTH(src) + LENGTH(tgt) + COALESCE(LENGTH(weights), 0)), 0) "
                       "+ COUNT(*) * 24 FROM probe_maps").fetchone()[0]
    db.close()
    total = (home / "runs.sqlite").stat().st_size + sum(p.stat().st_size for p in (home / "weights").glob("*.pt"))
    return total, blob


def one_pass(checkpoints: bool, jobs: int, epochs: int | None) -> dict:
    configs = [dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, checkpoints=checkpoints))
               for cfg in lecture_configs(epochs=epochs)]
    with tempfile.TemporaryDirectory(prefix="live-overhead-") as folder:
        home = Path(folder)
        store = RunStore(home)
        runner = JobRunner(store, max_jobs=jobs, nice=0)
        start = time.perf_counter()
        gap_seconds, gap_value = None, None
        try:
            ids = runner.submit_many(configs, cache=False)
            runs = store.runs()
            while True:
                statuses = {run_id: store.status(run_id) for run_id in ids}
                if checkpoints and gap_seconds is None:
                    rows = at_checkpoint(store.checkpoint_buckets(ids), runs)
                    gap = longest_bucket_gap(rows)
                    if gap is not None and gap >= GAP:
                        gap_seconds, gap_value = time.perf_counter() - start, gap
                if all(s in FINISHED for s in statuses.values()):
                    break
                time.sleep(POLL)
        finally:
            runner.shutdown()
        wall = time.perf_counter() - start
        failed = {r: s for r, s in statuses.items() if s != "done"}
        if failed:
            sys.exit(f"runs did not finish: {failed}")
        records = {store.run(r).variant: store.run(r) for r in ids}
        n_checkpoints = {store.run(r).variant: len(store.checkpoints(r)) for r in ids}
        store.close()
        total, checkpoint_bytes = store_bytes(home)
    return {"checkpoints": checkpoints, "wall": wall, "train": {v: r.train_seconds for v, r in records.items()},
            "bleu": {v: r.bleu for v, r in records.items()}, "n_checkpoints": n_checkpoints,
            "bytes": total, "checkpoint_bytes": checkpoint_bytes, "gap_seconds": gap_seconds, "gap": gap_value}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="workers at once (the demo's default on 2 cores: 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the lecture preset's)")
    parser.add_argument("--order", default="on,off", help="passes in this order: on,off or off,on")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the passes this many times")
    args = parser.parse_args(argv)
    print(f"lecture demo, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    results = []
    for _ in range(args.repeat):
        for which in args.order.split(","):
            result = one_pass(which == "on", args.jobs, args.epochs)
            results.append(result)
            print(f"\ncheckpoints {which}: wall {result['wall']:.1f} s; train s "
                  + ", ".join(f"{v} {s:.1f}" for v, s in result["train"].items())
                  + "; test BLEU " + ", ".join(f"{v} {b:.1f}" for v, b in result["bleu"].items()))
            print(f"  store {result['bytes'] / 1e6:.2f} MB" + (
                f", checkpoint rows {result['checkpoint_bytes'] / 1e3:.0f} kB; checkpoints kept "
                + ", ".join(f"{v} {n}" for v, n in result["n_checkpoints"].items()) if result["checkpoints"] else ""))
            if result["checkpoints"]:
                if result["gap_seconds"] is None:
                    print(f"  the live chart never showed an attention variant {GAP:.0f} BLEU above none "
                          "on the longest bucket")
                else:
                    print(f"  live chart: attention {result['gap']:.1f} BLEU above none on the longest bucket "
                          f"after {result['gap_seconds']:.1f} s = {result['gap_seconds'] / result['wall']:.0%} "
                          "of the demo")
    on = [r for r in results if r["checkpoints"]]
    off = [r for r in results if not r["checkpoints"]]
    if on and off:
        wall_on, wall_off = (sum(r["wall"] for r in rs) / len(rs) for rs in (on, off))
        bytes_on, bytes_off = (sum(r["bytes"] for r in rs) / len(rs) for rs in (on, off))
        print(f"\noverhead: wall {wall_on:.1f} s on / {wall_off:.1f} s off = {wall_on / wall_off - 1:+.1%} "
              f"(goal <= +10 %); store {bytes_on / 1e6:.2f} MB / {bytes_off / 1e6:.2f} MB = "
              f"{bytes_on / bytes_off - 1:+.1%} (goal <= +20 %)")


if __name__ == "__main__":
    main()
