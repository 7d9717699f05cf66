"""`python -m attn sweep`: a grid of runs on the configured executor, one progress bar for the sweep and
one per running cell, then the metric of the longest bucket against the swept field.

    python -m attn sweep --preset capacity                        # none, additive, dot x hidden 32..512 x 3 seeds
    python -m attn sweep --preset capacity --seeds 0              # the same with one seed
    python -m attn sweep --preset tiny --hidden 16,32,64 --variants none,dot --seeds 0-2 --figure sweep.png
    python -m attn sweep --show STUDY --figure sweep.svg          # a stored sweep's table and figure again

Every data, model and training field is a flag (`--hidden`, `--n-train`, `--lr`, `--style`, ...): one value
sets it, a list (`32,64,128`, whole numbers also as a range `2-6`) sweeps it. The cells go to
attn.runs.executors.make_runner (local workers, or Ray with ATTN_EXECUTOR=ray) in one request, so cells the
store already holds come back at once (`--retrain` trains them again); the sweep is recorded as a study of
kind "sweep". Ctrl-C (or SIGTERM) cancels every unfinished cell; each training one stops within a batch.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Sequence

from attn.cli.command import run_command
from attn.config import PRESETS, VARIANTS
from attn.runs.sweep import FIELDS, SWEEP_PRESETS, Cell, Grid, make_grid, parse_values, with_values

EXECUTORS = {"JobRunner": "local workers", "RayRunner": "Ray (ATTN_EXECUTOR=ray)"}  # the runner's class -> where cells train
EXAMPLES = {"int": "32,64,128 or 2-6", "float": "0.001,0.003", "str": "luong,bahdanau"}


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the `sweep` command to the CLI's subparsers."""
    p = sub.add_parser("sweep", help="train a grid: variants x seeds x values of any config field",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="lecture", choices=sorted([*PRESETS, *SWEEP_PRESETS]),
                   help="the settings every cell starts from, or a sweep preset (capacity: none, additive, dot "
                        "at hidden 32..512 on toy-fr, 3 seeds); default lecture")
    p.add_argument("--variants", help=f"RNN attention variants, comma-separated, from {', '.join(VARIANTS)} "
                                      "(default: the sweep preset's, else none,additive,dot)")
    p.add_argument("--seeds", help="seeds, e.g. 0 or 0,1,2 or 0-4 (default: the sweep preset's, else 0)")
    fields = p.add_argument_group("config fields (one value sets the field, a list sweeps it)")
    for spec in FIELDS.values():
        fields.add_argument(spec.flag, dest=f"field_{spec.name}", metavar="V[,V...]",
                            help=f"{spec.section}.{spec.name}, e.g. {EXAMPLES[spec.kind]}")
    p.add_argument("--jobs", type=int, help="cells trained at once (default: one per core)")
    p.add_argument("--retrain", action="store_true", help="train every cell again, even one the store holds")
    p.add_argument("--metric", default="bleu", help="the metric of the table and figure (default bleu)")
    p.add_argument("--bucket", default="longest",
                   help="the length bucket of the table and figure: longest (default), shortest or a label")
    p.add_argument("--band", choices=["minmax", "std"], default="minmax",
                   help="the figure's band over seeds: min-max (default) or mean +- 1 std")
    p.add_argument("--figure", metavar="PATH", help="write the figure to PATH (.png or .svg)")
    p.add_argument("--show", metavar="STUDY",
                   help="print the table (and --figure, --out) of a stored sweep, by its study id; trains nothing")
    p.add_argument("--out", metavar="PATH", help="write every cell (run id, values, status, per-bucket metrics) as JSON")
    p.set_defaults(func=cmd_sweep)
    return p


register = add_parser  # the name the other subcommand modules use


def grid_from_args(args) -> Grid:
    """The sweep the flags ask for: the preset (or sweep preset), with each field flag laid over it."""
    if args.preset in SWEEP_PRESETS:
        preset = SWEEP_PRESETS[args.preset]
        base, variants, seeds, axes = preset.base, preset.variants, preset.seeds, {a.name: a.values for a in preset.axes}
    else:
        base, variants, seeds, axes = PRESETS[args.preset], None, (0,), {}
    fixed = []
    for name, spec in FIELDS.items():
        text = getattr(args, f"field_{name}", None)
        if text is None:
            continue
        values = parse_values(name, text)
        if len(values) == 1:
            axes.pop(name, None)
            fixed.append((name, values[0]))
        else:
            axes[name] = values
    if fixed:
        base = with_values(base, fixed)
    return make_grid(base, args.variants if args.variants is not None else variants,
                     args.seeds if args.seeds is not None else seeds, axes)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the unfinished cells are cancelled."""


def cmd_sweep(args) -> int:
    def terminate(signum, frame):
        raise Terminated()

    if args.show:
        return show(args)
    grid = grid_from_args(args)
    cells = grid.cells()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        return run_sweep(args, grid, cells)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def run_sweep(args, grid: Grid, cells: Sequence[Cell], stream=None) -> int:
    from attn.runs.executors import executor_name, make_runner
    from attn.runs.store import RunStore
    from attn.runs.workers import cpu_count
    stream = stream if stream is not None else sys.stderr
    store = RunStore()
    # local: one worker per core; Ray: as many as the cluster has CPUs (RayRunner's default)
    jobs = args.jobs or (None if executor_name() == "ray" else cpu_count())
    runner = make_runner(store, max_jobs=jobs, nice=0, events=True)
    where = EXECUTORS.get(type(runner).__name__, type(runner).__name__)
    print(f"sweep {grid.describe()}: {len(cells)} cells, {runner.max_jobs} at a time on {where}, store {store.home}",
          file=stream, flush=True)
    ids: list[str] = []
    progress = SweepProgress([cell.label for cell in cells], stream)
    try:
        ids = runner.submit_many([cell.config for cell in cells], cache=not args.retrain)
        progress.start(ids, [store.status(run_id) for run_id in ids])
        study = store.add_study(f"sweep: {grid.describe()}"[:200], "sweep", ids)
        print(f"study {study}: the Sweep page opens it with ?sweep={study}", file=stream, flush=True)
        pending = list(ids)
        while pending:
            statuses = runner.wait_many(pending, progress.event, timeout=1.0)
            progress.update(statuses)
            pending = [run_id for run_id, status in statuses.items() if status in ("queued", "running")]
    except KeyboardInterrupt as stop:
        cancel(runner, store, ids, stream)
        return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
    finally:
        runner.shutdown()
    progress.finish()
    return report(args, store, grid.describe(), ids, [axis.name for axis in grid.axes], stream)


def cancel(runner, store, ids: Sequence[str], stream) -> None:
    """Ctrl-C: cancel the unfinished cells (queued ones at once, training ones within a batch) and wait for
    them to stop; a second Ctrl-C stops waiting, and the runner's shutdown marks the rest `interrupted`."""
    from attn.runs.store import ACTIVE
    active = [run_id for run_id in dict.fromkeys(ids) if store.status(run_id) in ACTIVE]
    print(f"\ninterrupted: cancelling {len(active)} unfinished cell{'s' if len(active) != 1 else ''}",
          file=stream, flush=True)
    try:
        for run_id in active:
            runner.cancel(run_id)
        runner.wait_many(active)
    except KeyboardInterrupt:
        pass
    runner.shutdown()
    done = sum(store.status(run_id) == "done" for run_id in ids)
    print(f"{done} of {len(ids)} cells done; cancelled: {', '.join(active) or 'none'}", file=stream, flush=True)


def report(args, store, name: str, ids: Sequence[str], fields: Sequence[str], stream) -> int:
    """The table (metric of the bucket, mean and min-max over seeds per value x variant), --figure, --out.
    -> 0, or 2 when a cell did not end done (each such cell is named with its error)."""
    from attn.runs.sweep import cell_frame, sweep_points
    from attn.viz.sweep import metric_by_field, sweep_summary
    frame = cell_frame(store.runs(), store.configs(ids), fields, order=ids)
    frame["label"] = [" · ".join([*(f"{f} {row[f]}" for f in fields), row["variant"], f"seed {row['seed']}"])
                      for _, row in frame.iterrows()]
    unfinished = frame["status"].isin(["queued", "running"])  # --show of a sweep still training
    failed = frame[(frame["status"] != "done") & ~unfinished]
    for _, row in failed.iterrows():
        print(f"error: cell {row['label']} (run {row['run_id']}) ended {row['status']}: "
              f"{store.run(row['run_id']).error}", file=stream)
    for _, row in frame[unfinished].iterrows():
        print(f"cell {row['label']} (run {row['run_id']}) is still {row['status']}", file=stream)
    done_ids = list(frame.loc[frame["status"] == "done", "run_id"])
    if done_ids and fields:
        points = sweep_points(frame, store.buckets(done_ids), fields)
        x, by = fields[0], list(fields[1:])
        summary = sweep_summary(points, x, args.metric, [args.bucket], by)
        summary["cell"] = [f"{m:.1f} ({lo:.1f}-{hi:.1f})" if n > 1 else f"{m:.1f}"
                           for m, lo, hi, n in zip(summary["mean"], summary["min"], summary["max"], summary["seeds"])]
        for panel, part in summary.groupby("panel", sort=False):
            table = part.pivot(index=x, columns="variant", values="cell")
            table = table[[v for v in VARIANTS if v in table.columns] + [c for c in table.columns if c not in VARIANTS]]
            print(f"\n{args.metric} on the {panel}, mean over seeds (min-max) by {x}:")
            print(table.to_string())
        if args.figure:
            from attn.viz.export import save
            save(metric_by_field(points, x, args.metric, [args.bucket], style="slide", band=args.band, by=by),
                 args.figure)
            print(f"wrote {args.figure}", file=stream)
    if args.out:
        rows = [{"run_id": row["run_id"], "label": row["label"], "variant": row["variant"], "seed": int(row["seed"]),
                 **{f: row[f] for f in fields}, "status": row["status"],
                 "buckets": [b.to_json() for b in store.bucket_rows(row["run_id"])]} for _, row in frame.iterrows()]
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"sweep": name, "cells": rows}, f, indent=2, default=_plain)
        print(f"wrote {args.out}", file=stream)
    return 2 if len(failed) else 0


def _plain(value):
    """numpy numbers (pandas cells) as JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)


def show(args, stream=None) -> int:
    """--show STUDY: the table, figure and JSON of a stored sweep, read from the store; nothing is trained."""
    from attn.runs.store import RunStore
    from attn.runs.sweep import swept_fields
    stream = stream if stream is not None else sys.stderr
    store = RunStore()
    study = store.study(args.show)
    ids = list(study.run_ids)
    done = sum(store.status(run_id) == "done" for run_id in ids)
    print(f"{study.name} (study {study.id}, {study.kind}): {done} of {len(ids)} cells done", file=stream, flush=True)
    return report(args, store, study.name, ids, swept_fields(store.configs(ids)), stream)


class SweepProgress:
    """One bar for the sweep (cells ended of all) and one per training cell, redrawn in place on a terminal;
    off a terminal (logs, pipes) one line per cell as it ends."""

    def __init__(self, labels: list[str], stream):
        self.labels, self.stream, self.tty = labels, stream, stream.isatty()
        self.index: dict[str, int] = {}
        self.status: dict[int, str] = {}
        self.bars: dict[int, str] = {}       # training cells: their bar
        self.cached = 0
        self._lines = 0
        self._last = 0.0

    def start(self, ids: Sequence[str], statuses: Sequence[str]) -> None:
        self.index = {run_id: i for i, run_id in enumerate(ids)}
        self.status = dict(enumerate(statuses))
        self.cached = sum(status == "done" for status in statuses)
        if self.cached:
            print(f"{self.cached} of {len(ids)} cells answered from the store (--retrain trains them again)",
                  file=self.stream, flush=True)
        self._draw(force=True)

    def event(self, run_id: str, event) -> None:
        i = self.index.get(run_id)
        if i is None or event.kind not in ("step", "epoch"):
            return
        frac = event.step / max(event.total_steps, 1)
        loss = event.valid_loss if event.kind == "epoch" else event.train_loss
        self.bars[i] = (f"{_bar(frac)} {frac:4.0%}" + (f" loss {loss:.3f}" if loss is not None else "")
                        + (f" eta {event.eta:.0f}s" if event.eta is not None else ""))
        self._draw()

    def update(self, statuses: dict[str, str]) -> None:
        for run_id, status in statuses.items():
            i = self.index[run_id]
            if status != self.status.get(i) and status not in ("queued", "running"):
                self.bars.pop(i, None)
                if not self.tty:
                    print(f"cell {self._ended() + 1}/{len(self.labels)} {status}: {self.labels[i]} (run {run_id})",
                          file=self.stream, flush=True)
            self.status[i] = status
        self._draw()

    def finish(self) -> None:
        self._draw(force=True)

    def _ended(self) -> int:
        return sum(status not in ("queued", "running") for status in self.status.values())

    def sweep_line(self) -> str:
        ended, total = self._ended(), len(self.labels)
        training = sum(status == "running" for status in self.status.values())
        return (f"sweep {_bar(ended / max(total, 1))} {ended}/{total} cells ended ({self.cached} from the store), "
                f"{training} training, {total - ended - training} queued")

    def _draw(self, force: bool = False) -> None:
        if not self.tty or not (force or time.monotonic() - self._last > 0.2):
            return
        self._last = time.monotonic()
        running = [i for i, status in self.status.items() if status == "running"]
        width = max([len(self.labels[i]) for i in running] or [0])
        lines = [self.sweep_line()] + [f"  {self.labels[i]:<{width}}  {self.bars.get(i, 'starting')}" for i in running]
        up = f"\x1b[{self._lines}F" if self._lines else ""
        print(up + "\x1b[J" + "\n".join(lines), file=self.stream, flush=True)
        self._lines = len(lines)


def _bar(frac: float, width: int = 20) -> str:
    full = int(frac * width)
    return "[" + "#" * full + "." * (width - full) + "]"


def main(argv: list[str] | None = None) -> int:
    """`python -m attn.cli.sweep ...`: the command on its own, exactly as `python -m attn sweep ...` runs it."""
    parser = argparse.ArgumentParser(prog="python -m attn")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run_command(parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":  # spawned workers import this module too; only the parent runs the command
    raise SystemExit(main())
