"""`python -m attn ...`: train and compare variants, benchmark, from a terminal.

    python -m attn train --task toy-fr --variants none,additive,dot --seeds 0 --preset lecture --out r.json
    python -m attn train --data eng-fra.txt --buckets 0,5,10,20,40 --lowercase
    python -m attn bench --json
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import sys
import threading
import time

from attn.config import ConfigError, RunConfig, VARIANTS, preset, PRESETS
from attn.data.pairs import parse_edges


class Progress:
    """One status line for all concurrent runs, redrawn in place on a terminal.

    Off a terminal (CI logs, pipes) it prints a line per finished epoch instead, so logs stay short.
    """

    def __init__(self, labels: list[str], stream=sys.stderr):
        self.labels, self.stream = labels, stream
        self.state: dict[int, str] = {i: "queued" for i in range(len(labels))}
        self.tty = stream.isatty()
        self.last_draw = 0.0

    def __call__(self, index: int, event) -> None:
        label = self.labels[index]
        if event.kind in ("step", "epoch"):
            frac = event.step / max(event.total_steps, 1)
            loss = event.valid_loss if event.kind == "epoch" else event.train_loss
            tps = f" {event.tokens_per_s / 1000:.1f}k tok/s" if event.tokens_per_s else ""
            self.state[index] = f"{_bar(frac)} {frac:4.0%} loss {loss:.3f}{tps} eta {event.eta:.0f}s"
            if not self.tty and event.kind == "epoch":
                print(f"{label}: epoch {event.epoch}/{event.epochs} train {event.train_loss:.3f} "
                      f"valid {event.valid_loss:.3f} ({event.elapsed:.1f}s)", file=self.stream, flush=True)
        elif event.kind == "end":
            self.state[index] = f"done in {event.elapsed:.1f}s" + (" (stopped)" if event.stopped else "")
            if not self.tty:
                print(f"{label}: {self.state[index]}", file=self.stream, flush=True)
        if self.tty and (time.monotonic() - self.last_draw > 0.1 or event.kind == "end"):
            self.last_draw = time.monotonic()
            width = max(len(l) for l in self.labels)
            lines = [f"{self.labels[i]:<{width}}  {self.state[i]}" for i in range(len(self.labels))]
            up = f"\x1b[{len(lines)}F" if getattr(self, "_drawn", False) else ""
            self._drawn = True
            print(up + "\n".join(l + "\x1b[K" for l in lines), file=self.stream, flush=True)


def _bar(frac: float, width: int = 20) -> str:
    full = int(frac * width)
    return "[" + "#" * full + "." * (width - full) + "]"


def _int_list(text: str, name: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{name} takes whole numbers separated by commas, got {text!r}") from None


def base_config(args) -> RunConfig:
    """The preset with every flag the user gave laid over it."""
    cfg = preset(args.preset)
    data_changes, model_changes, train_changes = {}, {}, {}
    if args.data:
        data_changes.update(task="corpus", corpus=args.data)
    elif args.task:
        data_changes["task"] = args.task
    for flag, field in (("n_train", "n_train"), ("n_test", "n_test"), ("min_len", "min_len"),
                        ("max_len", "max_len"), ("max_pairs", "max_pairs"), ("min_freq", "min_freq"),
                        ("level", "level"), ("data_seed", "data_seed")):
        if getattr(args, flag) is not None:
            data_changes[field] = getattr(args, flag)
    if args.lowercase:
        data_changes["lowercase"] = True
    if args.buckets:
        data_changes["buckets"] = tuple(parse_edges(args.buckets))
    for flag in ("emb", "hidden", "style", "dropout"):
        if getattr(args, flag) is not None:
            model_changes[flag] = getattr(args, flag)
    if args.unscaled:
        model_changes["scaled"] = False
    for flag in ("epochs", "batch", "lr", "lr_schedule", "clip", "teacher_forcing", "patience", "device", "beam"):
        if getattr(args, flag) is not None:
            train_changes[flag] = getattr(args, flag)
    return RunConfig(data=dataclasses.replace(cfg.data, **data_changes),
                     model=dataclasses.replace(cfg.model, **model_changes),
                     train=dataclasses.replace(cfg.train, **train_changes), seed=cfg.seed)


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that trains (train, bench, and later preload); a flag not given
    keeps the preset's value."""
    p.add_argument("--preset", default="lecture", choices=sorted(PRESETS),
                   help="starting settings (default: lecture, the live demo)")
    p.add_argument("--task", help="built-in task: toy-fr (default), reverse, dates")
    p.add_argument("--data", help="import a corpus instead: PATH (TSV) or SRC_PATH,TGT_PATH (plain or .gz)")
    p.add_argument("--variants", default="none,additive,dot",
                   help=f"comma-separated, from: {', '.join(VARIANTS)} (default: none,additive,dot)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2 (default: 0)")
    p.add_argument("--n-train", type=int, dest="n_train", help="training pairs of a built-in task")
    p.add_argument("--n-test", type=int, dest="n_test", help="test pairs of a built-in task")
    p.add_argument("--min-len", type=int, dest="min_len", help="shortest source sentence in tokens")
    p.add_argument("--max-len", type=int, dest="max_len", help="longest source sentence in tokens")
    p.add_argument("--max-pairs", type=int, dest="max_pairs", help="imported corpus: keep at most N pairs")
    p.add_argument("--min-freq", type=int, dest="min_freq", help="rarer training tokens become <unk>")
    p.add_argument("--level", choices=["word", "char"], help="imported corpus: word or character tokens")
    p.add_argument("--data-seed", type=int, dest="data_seed", help="seed of the data generator / split")
    p.add_argument("--lowercase", action="store_true", help="imported corpus: lowercase first")
    p.add_argument("--buckets", help="source-length bucket edges, e.g. 0,10,20,30 (default: 5 equal buckets)")
    p.add_argument("--style", choices=["luong", "bahdanau"], help="decoder style")
    p.add_argument("--emb", type=int, help="embedding size")
    p.add_argument("--hidden", type=int, help="hidden size")
    p.add_argument("--dropout", type=float, help="dropout")
    p.add_argument("--unscaled", action="store_true", help="dot attention without the 1/sqrt(d) scaling")
    p.add_argument("--epochs", type=int, help="passes over the training pairs")
    p.add_argument("--batch", type=int, help="sentence pairs per training step")
    p.add_argument("--lr", type=float, help="Adam's learning rate")
    p.add_argument("--lr-schedule", choices=["constant", "linear"], dest="lr_schedule",
                   help="learning rate: constant, or linear decay to 10%% of --lr by the last step")
    p.add_argument("--clip", type=float, help="gradient-norm clipping (0: none)")
    p.add_argument("--teacher-forcing", type=float, dest="teacher_forcing",
                   help="probability of feeding the gold previous word in training (1: always)")
    p.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    p.add_argument("--beam", type=int, help="beam size for the test decodes (1: greedy)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="auto: a GPU when there is one")
    p.add_argument("--jobs", type=int, help="runs trained at once (default: all of them when at most one more "
                   "than the cores, else one per core)")


def cmd_train(args) -> int:
    from attn.runs.workers import Workers, default_jobs, run_in_process
    start = time.perf_counter()
    base = base_config(args)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            raise ConfigError(f"--variants: unknown variant {v!r}; valid: {', '.join(VARIANTS)}")
    seeds = _int_list(args.seeds, "seeds")
    n_runs = len(variants) * len(seeds)
    jobs = max(1, min(args.jobs or default_jobs(n_runs), n_runs))
    # the workers start (and import torch) while the data is generated or read
    with Workers(jobs) if jobs > 1 else contextlib.nullcontext() as workers:
        from attn.data.load import load_data# pure Python: torch is imported in the fork server meanwhile
        data = load_data(base.data)
        if workers is not None:
            # The results come back holding tensors, so this process needs torch too. Importing it now,
            # beside the fork server's own import, keeps those 2-3 s of CPU off the cores the workers
            # train on later (it cost the lecture demo about a second when done on the first result).
            threading.Thread(target=importlib.import_module, args=("attn.training.experiment",), daemon=True).start()
        if data.report:
            _print_report(data.report)
        if base.data.corpus and data.report.get("sha256"):
            base = dataclasses.replace(base, data=dataclasses.replace(base.data, corpus_sha256=data.report["sha256"]))
        configs = [base.with_variant(v, seed=s) for s in seeds for v in variants]
        print(f"{data.name}: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test pairs; "
              f"{len(configs)} runs ({jobs} at a time), {base.model.style} decoder, emb {base.model.emb}, "
              f"hidden {base.model.hidden}, {base.train.epochs} epochs", file=sys.stderr)
        progress = Progress([f"{c.model.variant} seed {c.seed}" for c in configs])
        results = (workers.run(configs, data, progress) if workers is not None
                   else run_in_process(configs, data, progress))
    wall = time.perf_counter() - start
    from attn.training.experiment import results_frame
    table = results_frame(results)
    _print_tables(table, results)
    print(f"\nwall time {wall:.1f}s for {len(configs)} runs (data, training and evaluation)", file=sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"runs": [r.summary() for r in results], "wall_seconds": round(wall, 2)}, f, indent=2)
        print(f"wrote {args.out}", file=sys.stderr)
    if not args.no_store:
        from attn.runs.store import RunStore
        store = RunStore()
        ids = [store.save_finished(r.config, r) for r in results]
        print(f"stored {len(ids)} runs in {store.home}: {' '.join(ids)}", file=sys.stderr)
    return 0


def _print_report(report: dict) -> None:
    skipped = report.get("skipped") or {}
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in skipped.items())
        print(f"skipped lines: {reasons}", file=sys.stderr)


def _print_tables(table, results) -> None:
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for metric in ("bleu", "chrf", "align"):
            if metric not in table or table[metric].isna().all():
                continue
            pivot = table.pivot_table(index="bucket", columns="variant", values=metric, aggfunc="mean",
                                      sort=False).round(1)
            print(f"\n{metric.upper() if metric != 'chrf' else 'chrF'} by source length (mean over seeds):")
            print(pivot.to_string())
        print("\nper run:")
        cols = [c for c in ["variant", "seed", "bucket", "n", "bleu", "chrf", "exact", "token_acc", "align", "aer"]
                if c in table]
        print(table[cols].round(1).to_string(index=False))
        print("\nparameters: " + ", ".join(f"{r.config.model.variant} {r.params:,}" for r in results
                                            if r.config.seed == results[0].config.seed))


def cmd_bench(args) -> int:
    from attn.training.bench import run_benchmark
    report = run_benchmark(lecture=not args.skip_lecture, steps=args.steps)
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))
    return 0


# Commands whose modules import nothing heavy at parse time. The other commands' modules import torch,
# pandas and altair (3-4 s on a 2-core laptop), which `train` would otherwise pay before its workers
# even start; so they are added to the parser only when another command (or --help) is asked for.
LIGHT_COMMANDS = ("train", "bench")


def build_parser(all_commands: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attn", description="Attention Lab from the terminal")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train variants, evaluate per length bucket, print the table")
    add_run_flags(train)
    train.add_argument("--out", help="write the results as JSON to this file")
    train.add_argument("--no-store", action="store_true",
                       help="do not keep the runs in the run store ($ATTN_HOME, default ./runs)")
    train.set_defaults(func=cmd_train)
    bench = sub.add_parser("bench", help="benchmark: lecture preset wall time and training throughput")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--steps", type=int, default=60, help="timed training steps per variant")
    bench.add_argument("--skip-lecture", action="store_true", help="only the throughput part")
    bench.set_defaults(func=cmd_bench)
    if all_commands:
        from attn.cli import figures
        from attn.cli import preload
        from attn.cli import runs as runs_cli
        for module in (runs_cli, figures, preload):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(all_commands=not (argv and argv[0] in LIGHT_COMMANDS))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
