"""Milliseconds per training step at the lecture preset, per variant, on one thread; figures printed.

    python benchmarks/step_time.py                  # with the fused C kernels (the default)
    ATTN_FUSED=0 python benchmarks/step_time.py     # PyTorch's ops only, for comparison
    python benchmarks/step_time.py --profile        # and where a step's time goes, by operator
    python benchmarks/step_time.py --style bahdanau # the other decoder style (the preset uses luong)

One thread, as each of the lecture demo's three workers trains. A step is `train.train_step`, what
the Trainer does per batch (forward, loss, backward, gradient clipping, Adam), timed by
`bench.time_steps` over one epoch of the lecture preset's length-sorted batches after 5 warm-up steps. The host's speed varies, so compare figures taken
one right after the other.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from attn import fused  # noqa: E402
from attn.bench import time_steps  # noqa: E402
from attn.config import preset  # noqa: E402
from attn.experiment import build_model, prepare  # noqa: E402
from attn.optim import Adam  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="none,additive,dot")
    parser.add_argument("--style", choices=("luong", "bahdanau"), default=None,
                        help="decoder style (default: the preset's)")
    parser.add_argument("--profile", action="store_true", help="also print the operators taking most time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = preset("lecture")
    if args.style:
        base = dataclasses.replace(base, model=dataclasses.replace(base.model, style=args.style))
    prepared = prepare(base.data)
    steps = math.ceil(len(prepared.train) / base.train.batch)  # one epoch
    report = {"style": base.model.style, "fused_kernels": fused.available(), "why_not": fused.build_error, "ms_per_step": {}}
    for variant in args.variants.split(","):
        cfg = base.with_variant(variant)
        torch.manual_seed(0)
        model = build_model(cfg, prepared).train()
        optimizer = Adam(model.parameters(), lr=cfg.train.lr)
        seconds, _ = time_steps(model, prepared, cfg.train.batch, steps, 5, optimizer, cfg.train.clip)
        report["ms_per_step"][variant] = round(seconds / steps * 1000, 1)
        if args.profile:
            from torch.profiler import profile
            with profile() as prof:
                time_steps(model, prepared, cfg.train.batch, 40, 0, optimizer, cfg.train.clip)
            rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
            report.setdefault("top_operators_ms_per_step", {})[variant] = {
                e.key: round(e.self_cpu_time_total / 40 / 1000, 2) for e in rows}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
