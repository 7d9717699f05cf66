"""`python -m attn ...`: train and compare variants, benchmark, from a terminal.

    python -m attn train --task toy-fr --variants none,additive,dot --seeds 0 --preset lecture --out r.json
    python -m attn train --data eng-fra.txt --buckets 0,5,10,20,40 --lowercase
    python -m attn train --preset lecture --retrain      # train again what the store already holds
    python -m attn bench --json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from attn.config import ConfigError, RunConfig, VARIANTS, preset, PRESETS
from attn.data.pairs import parse_edges


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
    from attn.cli.train import train_command  # the command itself: attn/cli/train.py
    return train_command(args, base_config(args))


def cmd_bench(args) -> int:
    from attn.cli.train import lecture_seconds
    from attn.training.bench import run_benchmark
    report = run_benchmark(None if args.skip_lecture else lecture_seconds(), steps=args.steps)
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
                       help="do not keep the runs in the run store ($ATTN_HOME, default ./runs): train them in a "
                            "temporary store, removed afterwards")
    train.add_argument("--retrain", action="store_true",
                       help="train every run again, even when the store holds a finished identical run (by "
                            "default such a run answers from the store at once)")
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
