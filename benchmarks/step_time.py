"""Milliseconds per training step at the lecture preset, per variant, on one thread; figures printed.

    python benchmarks/step_time.py                  # with the fused C kernels (the default)
    ATTN_FUSED=0 python benchmarks/step_time.py     # PyTorch's ops only, for comparison
    python benchmarks/step_time.py --profile        # and where a step's time goes, by operator
    python benchmarks/step_time.py --style bahdanau # the other decoder style (the preset uses luong)
    python benchmarks/step_time.py --flops          # and how much of a step is matrix arithmetic

--flops counts the floating-point operations of the matrix products in the same steps (PyTorch's
mm/addmm/bmm through torch.utils.flop_counter, and the GRU kernel's per-step products, 2*B*3H*H
forward and again backward, for every step of every row, as the kernel computes them) and divides
by the measured time; next to that, the rate of a 512x512 fp32 matmul on the same one thread. The
elementwise work (gates, tanh, softmax, Adam) is not counted, so the figure is a lower bound on
how busy the arithmetic units are.

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
import time


import torch  # noqa: E402

from attn.nn import fused

from attn.nn import recurrence# noqa: E402
from attn.training.bench import time_steps# noqa: E402
from attn.config import preset# noqa: E402
from attn.training.experiment import build_model, prepare# noqa: E402
from attn.training.optim import Adam# noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="none,additive,dot")
    parser.add_argument("--style", choices=("luong", "bahdanau"), default=None,
                        help="decoder style (default: the preset's)")
    parser.add_argument("--flops", action="store_true", help="also print GFLOP per step and GFLOP/s")
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
        if args.flops:
            flops = matrix_flops(model, prepared, cfg, steps, optimizer)
            report.setdefault("matrix_gflop_per_step", {})[variant] = round(flops / steps / 1e9, 3)
            report.setdefault("matrix_gflop_per_s", {})[variant] = round(flops / seconds / 1e9, 1)
        if args.profile:
            from torch.profiler import profile
            with profile() as prof:
                time_steps(model, prepared, cfg.train.batch, 40, 0, optimizer, cfg.train.clip)
            rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
            report.setdefault("top_operators_ms_per_step", {})[variant] = {
                e.key: round(e.self_cpu_time_total / 40 / 1000, 2) for e in rows}
    if args.flops:
        report["matmul_512_gflop_per_s"] = round(matmul_rate(512), 1)
    print(json.dumps(report, indent=2))


def matrix_flops(model, prepared, cfg, steps: int, optimizer) -> int:
    """FLOPs of the matrix products in the `steps` steps `time_steps` just timed (same batches)."""
    from torch.utils.flop_counter import FlopCounterMode
    kernel_flops = 0
    scan = recurrence.GRUScan.apply

    def counted_scan(gi, h0, *rest):
        nonlocal kernel_flops
        B, T, G = gi.shape                                    # G = 3H
        kernel_flops += 2 * (2 * B * T * G * h0.size(1))      # W_hh h forward, d_gh W_hh backward
        return scan(gi, h0, *rest)

    recurrence.GRUScan.apply = counted_scan
    try:
        with FlopCounterMode(display=False) as counter:
            time_steps(model, prepared, cfg.train.batch, steps, 0, optimizer, cfg.train.clip)
    finally:
        recurrence.GRUScan.apply = scan
    return counter.get_total_flops() + kernel_flops


def matmul_rate(n: int, repeats: int = 50) -> float:
    """GFLOP/s of an n x n by n x n fp32 matmul on the current threads (best of three)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(5):
        a @ b
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 * repeats / best / 1e9


if __name__ == "__main__":
    main()
