"""How close the wall-time estimate comes to a real run on this machine; figures printed.

    python benchmarks/estimate_accuracy.py            # reverse task, 1500 pairs, 4 epochs (about 1 s a run)
    python benchmarks/estimate_accuracy.py --pairs 6000 --epochs 6

Two routes, as the app takes them:
  stored   one run is trained and stored; the estimate for a second run of the same size (another
           variant and seed) comes from its recorded seconds, then the second run is timed;
  measured with nothing stored, the short measuring run (a subprocess) gives the speed, then the
           run is timed.
Each line prints estimated and measured seconds and their ratio (the app's goal: within a factor of 2
on a quiet machine). A loaded machine widens the ratio; the tests never compare with a clock.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import torch

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.runs.estimate import estimate_runs
from attn.runs.store import RunStore
from attn.training.experiment import run


def timed(cfg: RunConfig):
    start = time.perf_counter()
    result = run(cfg)
    return result, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1500)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = RunConfig(data=DataConfig(task="reverse", n_train=args.pairs, n_valid=60, n_test=80, min_len=3, max_len=14),
                    model=ModelConfig(emb=16, hidden=32), train=TrainConfig(epochs=args.epochs, batch=32, lr=1e-2))
    print(f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"1 thread; reverse task, {args.pairs} pairs, {args.epochs} epochs")
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home))
        first, first_wall = timed(cfg)
        store.save_finished(cfg, first)
        other = cfg.with_variant("none", seed=1)
        found = estimate_runs([other], jobs=1, store=store, measuring="never")
        _, wall = timed(other)
        print(f"stored   estimated {found.seconds:6.2f} s  measured {wall:6.2f} s  ratio {found.seconds / wall:.2f}"
              f"  (the stored run took {first_wall:.2f} s)")
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home))
        fresh = dataclasses.replace(cfg, seed=5)
        found = estimate_runs([fresh], jobs=1, store=store, measuring="wait")
        _, wall = timed(fresh)
        print(f"measured estimated {found.seconds:6.2f} s  measured {wall:6.2f} s  ratio {found.seconds / wall:.2f}")


if __name__ == "__main__":
    main()
