"""Milliseconds per training step at the lecture preset, per variant, on one thread; figures printed.

    python benchmarks/step_time.py                  # with the fused C kernels (the default)
    ATTN_FUSED=0 python benchmarks/step_time.py     # PyTorch's ops only, for comparison
    python benchmarks/step_time.py --profile        # and where a step's time goes, by operator
    python benchmarks/step_time.py --style bahdanau # the other decoder style (the preset uses luong)
    python benchmarks/step_time.py --flops          # and how much of a step is matrix arithmetic
    python benchmarks/make_corpus.py --out /tmp/standin
    python benchmarks/step_time.py --corpus /tmp/standin --loss both --flops --steps 40
                                                    # the lecture step beside a 12,000-word-vocabulary step

--flops counts the floating-point operations of the matrix products in the same steps (PyTorch's
mm/addmm/bmm through torch.utils.flop_counter, and the GRU kernel's per-step products, 2*B*3H*H
forward and again backward, for every step of every row, as the kernel computes them) and divides
by the measured time; next to that, the rate of a 512x512 fp32 matmul on the same one thread. The
elementwise work (gates, tanh, softmax, Adam) is not counted, so the figure is a lower bound on
how busy the arithmetic units are.

--corpus FOLDER adds, for each variant, the same model sizes trained on that corpus (train.tsv of
benchmarks/make_corpus.py's generated stand-in: a ~12,000-word target vocabulary), right after the
lecture step, so the two are measured side by side on the same load. --loss says which loss the step
uses: "plain" (bench.plain_loss_step: logits of the whole batch, F.cross_entropy), "fused"
(bench.fused_loss_step: the output layer and the loss fused over the real tokens) or "both"; the
trainer itself fuses from models.FUSED_LOSS_MIN_VOCAB target words up. --tied ties the output layer to
the target embeddings (ModelConfig.tied). Every rate is also given per CPU second of this process
(`*_cpu`): on a shared, loaded machine the wall clock counts other processes' time too.

One thread, as each of the lecture demo's three workers trains. A step is `train.train_step`, what
the Trainer does per batch (forward, loss, backward, gradient clipping, Adam), timed by
`bench.time_steps` over one epoch of the lecture preset's length-sorted batches (or --steps) after 5
warm-up steps. The host's speed varies, so compare figures taken one right after the other.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
import time
from pathlib import Path

import torch

from attn.nn import fused, recurrence
from attn.training.bench import fused_loss_step, plain_loss_step, time_steps
from attn.config import DataConfig, preset
from attn.training.experiment import build_model, prepare
from attn.training.optim import Adam


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="none,additive,dot")
    parser.add_argument("--style", choices=("luong", "bahdanau"), default=None,
                        help="decoder style (default: the preset's)")
    parser.add_argument("--flops", action="store_true", help="also print GFLOP per step and GFLOP/s")
    parser.add_argument("--profile", action="store_true", help="also print the operators taking most time")
    parser.add_argument("--corpus", help="folder with train/valid/test.tsv: also the big-vocabulary step")
    parser.add_argument("--loss", choices=("plain", "fused", "both"), default="plain")
    parser.add_argument("--tied", action="store_true", help="tied input/output embeddings")
    parser.add_argument("--steps", type=int, help="timed steps per case (default: one lecture epoch)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = preset("lecture")
    model_changes = {"style": args.style} if args.style else {}
    if args.tied:
        model_changes["tied"] = True
    base = dataclasses.replace(base, model=dataclasses.replace(base.model, **model_changes))
    cases = [("lecture", prepare(base.data))]
    if args.corpus:
        root = Path(args.corpus)
        cases.append(("corpus", prepare(DataConfig(task="corpus", corpus=str(root / "train.tsv"),
                                                   corpus_valid=str(root / "valid.tsv"),
                                                   corpus_test=str(root / "test.tsv")))))
    steps = args.steps or math.ceil(len(cases[0][1].train) / base.train.batch)  # one lecture epoch
    losses = {"plain": plain_loss_step, "fused": fused_loss_step}
    losses = {k: v for k, v in losses.items() if args.loss in (k, "both")}
    report = {"style": base.model.style, "tied": base.model.tied, "steps": steps,
              "fused_kernels": fused.available(), "why_not": fused.build_error,
              "target_vocab": {name: len(prepared.tgt_vocab) for name, prepared in cases}, "ms_per_step": {}}
    for variant in args.variants.split(","):
        cfg = base.with_variant(variant)
        for (data_name, prepared), (loss_name, step) in itertools.product(cases, losses.items()):
            # the lecture step with the plain loss keeps its old name: the variant alone
            label = variant + ("" if data_name == "lecture" else f"@{data_name}") + (
                "" if loss_name == "plain" else f"+{loss_name}")
            torch.manual_seed(0)
            model = build_model(cfg, prepared).train()
            optimizer = Adam(model.parameters(), lr=cfg.train.lr)
            cpu = time.process_time()
            seconds, _ = time_steps(model, prepared, cfg.train.batch, steps, 5, optimizer, cfg.train.clip, step)
            cpu = time.process_time() - cpu  # the 5 warm-up steps too: scaled below
            cpu *= steps / (steps + 5)
            report["ms_per_step"][label] = round(seconds / steps * 1000, 1)
            report.setdefault("cpu_ms_per_step", {})[label] = round(cpu / steps * 1000, 1)
            if args.flops:
                flops = matrix_flops(model, prepared, cfg, steps, optimizer, step)
                report.setdefault("matrix_gflop_per_step", {})[label] = round(flops / steps / 1e9, 3)
                report.setdefault("matrix_gflop_per_s", {})[label] = round(flops / seconds / 1e9, 1)
                report.setdefault("matrix_gflop_per_s_cpu", {})[label] = round(flops / cpu / 1e9, 1)
            if args.profile:
                from torch.profiler import profile
                with profile() as prof:
                    time_steps(model, prepared, cfg.train.batch, 40, 0, optimizer, cfg.train.clip, step)
                rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
                report.setdefault("top_operators_ms_per_step", {})[label] = {
                    e.key: round(e.self_cpu_time_total / 40 / 1000, 2) for e in rows}
            print(json.dumps({label: {k: v[label] for k, v in report.items() if isinstance(v, dict)
                                      and label in v}}), file=sys.stderr, flush=True)
    if args.flops:
        report["matmul_512_gflop_per_s"] = round(matmul_rate(512), 1)
    print(json.dumps(report, indent=2))


def matrix_flops(model, prepared, cfg, steps: int, optimizer, step=None) -> int:
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
            time_steps(model, prepared, cfg.train.batch, steps, 0, optimizer, cfg.train.clip, step)
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
