"""`python -m attn runs list|show|delete|export`: the run store from a terminal.

    python -m attn runs list --status done --json
    python -m attn runs show 3f9a0c1e
    python -m attn runs export 3f9a0c1e,77b2d0aa --format csv --out buckets.csv
    python -m attn runs delete 3f9a0c1e 77b2d0aa

Every command works on $ATTN_HOME (default ./runs), or on the folder given with `runs --home DIR`.
An unknown run id is an error naming it, with exit code 2.
"""
from __future__ import annotations

import json
import sys

from attn.runs.store import STATUSES, RunStore, StoreError


def register(subparsers) -> None:
    """Add the `runs` command to the CLI's subparsers."""
    runs = subparsers.add_parser("runs", help="list, show, delete and export stored runs")
    runs.add_argument("--home", help="the run store folder (default: $ATTN_HOME, else ./runs)")
    sub = runs.add_subparsers(dest="runs_command", required=True)

    ls = sub.add_parser("list", help="one line per run, newest first, starting with its id")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--task")
    ls.add_argument("--variant")
    ls.add_argument("--json", action="store_true", help="print a JSON list of runs")
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="a run's config, overall metrics and bucket table")
    show.add_argument("id")
    show.set_defaults(func=cmd_show)

    delete = sub.add_parser("delete", help="delete runs and their weights")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.set_defaults(func=cmd_delete)

    export = sub.add_parser("export", help="runs as JSON (config, metrics, curves) or CSV (bucket table)")
    export.add_argument("ids", nargs="+", metavar="ID[,ID...]")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--out", help="write to this file instead of standard output")
    export.set_defaults(func=cmd_export)


def _guarded(command):
    """A StoreError is a user's mistake (an unknown id): one line on stderr and exit code 2."""
    def wrapper(args) -> int:
        try:
            return command(args, RunStore(args.home))
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return wrapper


@_guarded
def cmd_list(args, store: RunStore) -> int:
    store.mark_interrupted()
    frame = store.runs(status=args.status, task=args.task, variant=args.variant)
    if args.json:
        rows = []
        for row in frame.to_dict("records"):
            rows.append({"id": row["id"], "name": row["name"], "status": row["status"], "task": row["task"],
                         "variant": row["variant"], "style": row["style"], "seed": int(row["seed"]),
                         "created": row["created"].isoformat(timespec="seconds"),
                         "train_seconds": _number(row["train_seconds"]), "params": None if _number(row["params"]) is None else int(row["params"]),
                         "progress": _number(row["progress"]), "bleu": _number(row["bleu"]),
                         "error": row["error"]})
        print(json.dumps(rows, indent=1))
        return 0
    width = max([8, *map(len, frame["variant"])])  # model labels: "dot" ... "encdec·sinusoidal"
    for row in frame.to_dict("records"):
        if row["status"] == "done":
            outcome = f"BLEU {row['bleu']:5.1f}" if _number(row["bleu"]) is not None else "BLEU    -"
        elif row["status"] == "running" and _number(row["progress"]) is not None:
            outcome = f"{row['progress']:>8.0%}"
        else:
            outcome = " " * 9
        print(f"{row['id']}  {row['status']:<11} {row['task']:<12} {row['variant']:<{width}} seed {row['seed']:<4} "
              f"{row['created']:%Y-%m-%d %H:%M}  {outcome}  {row['name']}")
    return 0


@_guarded
def cmd_show(args, store: RunStore) -> int:
    import pandas as pd
    run = store.run(args.id)
    print(f"{run.id}  {run.name}")
    print(f"status: {run.status}" + (f" ({run.error})" if run.error else ""))
    model = (f"{run.variant} Transformer" if run.config.get("model", {}).get("family") == "transformer"
             else f"{run.variant} attention, {run.style} decoder")  # a Transformer has no decoder style
    print(f"task {run.task}, {model}, seed {run.seed}, {run.params or 0:,} parameters, code {run.code_version}")
    if run.train_seconds is not None:
        print(f"trained in {run.train_seconds:.1f}s, evaluated in {run.eval_seconds:.1f}s")
    print("\nconfig:")
    print(json.dumps(run.config, indent=2))
    if run.overall:
        numbers = {k: v for k, v in run.overall.items() if v is not None and not k.endswith("_signature")}
        print("\noverall: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in numbers.items()))
    if run.status == "done":
        print(scoring_lines(run))
    table = store.buckets(args.id)
    if not table.empty:
        columns = ["bucket", "n", "bleu", "chrf", "exact", "token_acc", "align", "aer"]
        table = table[columns].dropna(axis=1, how="all")
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print("\nby source length:")
            print(table.round(1).to_string(index=False))
    return 0


def scoring_lines(run) -> str:
    """How the run's BLEU and chrF were computed: sacrebleu's signatures, as stored with its overall metrics,
    else as this code computes them for the run's config (the token level decides BLEU's tokenizer: 13a
    for words, char for characters) -- said so, since the store may keep only the numbers."""
    from attn.data.scoring import run_signatures
    level = (run.config.get("data") or {}).get("level", "word")
    signatures, stored = run_signatures(run.overall, level)
    origin = "stored with the run" if stored else f"this code's settings at {level} level; not stored with the run"
    return (f"\nscored with sacrebleu ({origin}):\n  BLEU {signatures['bleu_signature']}\n"
            f"  chrF {signatures.get('chrf_signature', '?')}")


@_guarded
def cmd_delete(args, store: RunStore) -> int:
    store.delete(args.ids)  # every id is checked before any run is deleted
    print(f"deleted {len(args.ids)} run{'s' if len(args.ids) != 1 else ''}: {' '.join(args.ids)}", file=sys.stderr)
    return 0


@_guarded
def cmd_export(args, store: RunStore) -> int:
    ids = [part.strip() for item in args.ids for part in item.split(",") if part.strip()]
    text = store.export(ids, fmt=args.format)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"wrote {len(ids)} run{'s' if len(ids) != 1 else ''} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _number(value):
    """A JSON number from a pandas cell; NaN and None become None."""
    if value is None:
        return None
    value = float(value)
    return None if value != value else value
