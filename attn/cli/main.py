"""`python -m attn ...`: train and compare variants, benchmark, from a terminal.

    python -m attn train --task toy-fr --variants none,additive,dot --seeds 0 --preset lecture --out r.json
    python -m attn train --data eng-fra.txt --buckets 0,5,10,20,40 --lowercase
    python -m attn train --preset lecture --retrain      # train again what the store already holds
    python -m attn train --preset length --seeds 0-2     # train short, test long: 9 models x 3 seeds
    python -m attn train --preset tiny --family transformer --arch decoder --positions rope,alibi
    python -m attn bench --json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from attn.config import (ARCHS, CORPUS_DATA, FAMILIES, POSITIONS, PRESETS, VARIANTS, ConfigError, RunConfig,
                         length_configs, preset)
from attn.cli.command import run_command
from attn.data.pairs import parse_edges



def base_config(args) -> RunConfig:
    """The preset with every flag the user gave laid over it."""
    return with_flags(preset(args.preset), args)


def with_flags(cfg: RunConfig, args) -> RunConfig:
    """`cfg` with every data, model and training flag the user gave; the others keep cfg's values.

    Each value goes through the config's own checks, so a bad one is refused with the config's message
    naming the field and its allowed range (model.heads must divide model.hidden, NoPE needs
    model.arch = 'decoder', data.test_max_len must reach data.max_len, ...)."""
    data_changes, model_changes, train_changes = {}, {}, {}
    if args.data:  # and the preset's corpus-only settings (the corpus preset's subwords), which flags override
        data_changes.update(task="corpus", corpus=args.data, **CORPUS_DATA.get(getattr(args, "preset", None), {}))
    elif args.task:
        data_changes["task"] = args.task
    # official splits and subwords: DataConfig refuses them without --data, naming the field
    for flag, field in (("valid", "corpus_valid"), ("test", "corpus_test"), ("subwords", "subwords"),
                        ("subword_vocab", "subword_vocab")):
        if getattr(args, flag, None) is not None:
            data_changes[field] = getattr(args, flag)
    for field in ("n_train", "n_test", "min_len", "max_len", "test_min_len", "test_max_len", "max_pairs",
                  "min_freq", "level", "data_seed"):
        if getattr(args, field) is not None:
            data_changes[field] = getattr(args, field)
    if args.lowercase:
        data_changes["lowercase"] = True
    if args.buckets:
        data_changes["buckets"] = tuple(parse_edges(args.buckets))
    for flag in ("emb", "hidden", "style", "dropout", "family", "arch", "layers", "heads", "ff"):
        if getattr(args, flag, None) is not None:
            model_changes[flag] = getattr(args, flag)
    if args.unscaled:
        model_changes["scaled"] = False
    if getattr(args, "tied", False):
        model_changes["tied"] = True
    for flag in ("epochs", "batch", "lr", "lr_schedule", "clip", "teacher_forcing", "patience", "early_stop", "device",
                 "beam"):
        if getattr(args, flag) is not None:
            train_changes[flag] = getattr(args, flag)
    return RunConfig(data=dataclasses.replace(cfg.data, **data_changes),
                     model=dataclasses.replace(cfg.model, **model_changes),
                     train=dataclasses.replace(cfg.train, **train_changes), seed=cfg.seed)


def run_configs(args) -> list[RunConfig]:
    """Every run one `train` command asks for, seeds outer, each with the user's flags laid over it.

    `--preset length` alone (no --family, --variants or --positions) is the length study: the nine models
    of config.length_configs per seed (RNN none/additive/dot + a decoder-only Transformer per positional
    encoding). Otherwise the RNN family trains each of --variants (default none,additive,dot) and the
    Transformer family each of --positions (default: the preset's); the other of the two flags is an error.
    """
    from attn.runs.plans import LECTURE_VARIANTS, parse_seeds  # seeds: "0", "0,1,2" or "0-2"
    seeds = parse_seeds(args.seeds)
    if not seeds:
        raise ConfigError(f"--seeds: no seed in {args.seeds!r}; write e.g. 0 or 0,1,2 or 0-2")
    variants, positions = _names(args.variants), _names(args.positions)
    for v in variants or ():
        if v not in VARIANTS:
            raise ConfigError(f"--variants: unknown variant {v!r}; valid: {', '.join(VARIANTS)}")
    if args.preset == "length" and args.family is None and variants is None and positions is None:
        return [with_flags(cfg, args) for cfg in length_configs(seeds)]
    base = base_config(args)
    if base.model.family == "transformer":
        if variants is not None:
            raise ConfigError("--variants chooses an RNN's attention; a Transformer (--family transformer) is "
                              f"chosen by --arch and --positions (from: {', '.join(POSITIONS)})")
        return [dataclasses.replace(base, model=dataclasses.replace(base.model, positions=p), seed=seed)
                for seed in seeds for p in positions or [base.model.positions]]
    if positions is not None:
        raise ConfigError("--positions chooses a Transformer's positional encoding; add --family transformer "
                          f"(the RNN family is chosen by --variants, from: {', '.join(VARIANTS)})")
    return [base.with_variant(v, seed=seed) for seed in seeds for v in variants or LECTURE_VARIANTS]


def _names(text: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b'] in the order given, repeats dropped; None (flag not given) stays None."""
    return None if text is None else list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that trains (train, bench, and later preload); a flag not given
    keeps the preset's value."""
    p.add_argument("--preset", default="lecture", choices=sorted(PRESETS),
                   help="starting settings (default: lecture, the live demo)")
    p.add_argument("--task", help="built-in task: toy-fr (default), reverse, dates")
    p.add_argument("--data", help="import a corpus instead: PATH (TSV) or SRC_PATH,TGT_PATH (plain or .gz)")
    p.add_argument("--valid", help="imported corpus: the official validation split, in --data's layout (a TSV, "
                   "or SRC_PATH,TGT_PATH), used as given instead of a seeded share of --data")
    p.add_argument("--test", help="imported corpus: the official test split, in --data's layout, used as given "
                   "(every pair of --data then trains or validates)")
    p.add_argument("--subwords", choices=["bpe", "unigram"],
                   help="imported corpus: SentencePiece subwords trained on the training split (buckets stay "
                        "in source words)")
    p.add_argument("--subword-vocab", type=int, dest="subword_vocab",
                   help="pieces per side with --subwords (default: the preset's, 8000)")
    p.add_argument("--variants", help=f"RNN attention, comma-separated, from: {', '.join(VARIANTS)} (default: "
                   "none,additive,dot; --preset length alone trains its nine models)")
    p.add_argument("--seeds", default="0", help="seeds, e.g. 0 or 0,1,2 or 0-2 (default: 0)")
    p.add_argument("--n-train", type=int, dest="n_train", help="training pairs of a built-in task")
    p.add_argument("--n-test", type=int, dest="n_test", help="test pairs of a built-in task")
    p.add_argument("--min-len", type=int, dest="min_len", help="shortest source sentence in tokens")
    p.add_argument("--max-len", type=int, dest="max_len", help="longest source sentence in tokens")
    p.add_argument("--test-min-len", type=int, dest="test_min_len",
                   help="built-in task: shortest test source (default: as in training)")
    p.add_argument("--test-max-len", type=int, dest="test_max_len",
                   help="built-in task: longest test source, at least --max-len (train short, test long)")
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
    p.add_argument("--tied", action="store_true",
                   help="tie the target embedding and the output layer (Press & Wolf 2017), in every model alike")
    p.add_argument("--family", help=f"model family: {' or '.join(FAMILIES)} (default: the preset's)")
    p.add_argument("--arch", help=f"transformer: {' or '.join(ARCHS)} (encoder-decoder, or decoder-only)")
    p.add_argument("--positions", help=f"transformer positional encodings, comma-separated, from: "
                   f"{', '.join(POSITIONS)} (none: NoPE, decoder-only)")
    p.add_argument("--layers", type=int, help="transformer: blocks in each stack")
    p.add_argument("--heads", type=int, help="transformer: attention heads (must divide --hidden)")
    p.add_argument("--ff", type=int, help="transformer: width of each block's feed-forward layer")
    p.add_argument("--epochs", type=int, help="passes over the training pairs")
    p.add_argument("--batch", type=int, help="sentence pairs per training step")
    p.add_argument("--lr", type=float, help="Adam's learning rate")
    p.add_argument("--lr-schedule", choices=["constant", "linear"], dest="lr_schedule",
                   help="learning rate: constant, or linear decay to 10%% of --lr by the last step")
    p.add_argument("--clip", type=float, help="gradient-norm clipping (0: none)")
    p.add_argument("--teacher-forcing", type=float, dest="teacher_forcing",
                   help="probability of feeding the gold previous word in training (1: always)")
    p.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    p.add_argument("--early-stop", choices=["loss", "bleu"], dest="early_stop",
                   help="what --patience watches: the validation loss (default) or the validation split's "
                        "corpus BLEU (greedy decodes each epoch; the run keeps the best epoch's weights)")
    p.add_argument("--beam", type=int, help="beam size for the test decodes (1: greedy)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="auto: a GPU when there is one")
    p.add_argument("--jobs", type=int, help="runs trained at once (default: all of them when at most one more "
                   "than the cores, else one per core)")


def cmd_train(args) -> int:
    from attn.cli.train import train_command  # the command itself: attn/cli/train.py
    return train_command(args, run_configs(args))


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
        from attn.cli import sweep as sweep_cli
        for module in (runs_cli, figures, preload):
            module.register(sub)
        sweep_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(all_commands=not (argv and argv[0] in LIGHT_COMMANDS))
    return run_command(parser.parse_args(argv))
