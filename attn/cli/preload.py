"""`python -m attn preload`: train the Lecture demo's runs ahead of the lecture, so the dashboard opens
with results ready.

    python -m attn preload                                  # the Lecture demo: none, additive, dot; seed 0
    python -m attn preload --seeds 0,1,2                    # three seeds each: Compare shows the spread
    python -m attn preload --preset tiny --variants none,dot

The configs are the Home page's Lecture demo (`attn.dashboard_support.lecture_configs` with the
server's ATTN_DEMO_PRESET and ATTN_DEMO_EPOCHS, as on Home), queued through the dashboard's own runner
(`attn.runs.executors.make_runner`: local workers, or Ray with ATTN_EXECUTOR=ray), so the stored runs are exactly what a click on Lecture demo would store, and that click then finds
them in the run cache. The cache matches config, seed and code version (a hash of attn/'s sources):
preload with the code the server will run, after the last change to attn/. A run already stored is
reported as `cached` and not trained again; one another process is training right now is waited
for, not trained twice.
"""
from __future__ import annotations

import sys
import time
from typing import Sequence

from attn.viz import support as ds
from attn.config import PRESETS, VARIANTS, ConfigError, RunConfig
from attn.runs.store import ACTIVE, RunStore, StoreError
from attn.runs.version import code_version

POLL_SECONDS = 1.0


def register(subparsers) -> None:
    """Add the `preload` command to the CLI's subparsers."""
    p = subparsers.add_parser("preload", help="train and store the Lecture demo's runs before a lecture "
                                              "(runs already stored are not trained again)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="default: the preset the Home page's Lecture demo trains ($ATTN_DEMO_PRESET, else "
                        f"{ds.DEFAULT_PRESET})")
    p.add_argument("--epochs", type=int,
                   help="default: the Lecture demo's ($ATTN_DEMO_EPOCHS, else the preset's own)")
    p.add_argument("--seeds", default="0", help="seeds, e.g. 0 or 0,1,2 or 0-2 (default: 0, the demo's)")
    p.add_argument("--variants", default=",".join(ds.LECTURE_VARIANTS),
                   help=f"comma-separated, from: {', '.join(VARIANTS)} (default: {','.join(ds.LECTURE_VARIANTS)})")
    p.add_argument("--jobs", type=int, help="runs trained at once (default: $ATTN_MAX_JOBS, else one per core)")
    p.add_argument("--home", help="the run store folder (default: $ATTN_HOME, else ./runs)")
    p.set_defaults(func=cmd_preload)


def preload_configs(preset: str = ds.DEFAULT_PRESET, seeds: Sequence[int] = (0,),
                    variants: Sequence[str] = ds.LECTURE_VARIANTS, epochs: int | None = None) -> list[RunConfig]:
    """The Lecture demo's configs (the Home page's function) for every seed x variant, seeds outer."""
    base = ds.lecture_configs(preset, epochs)[0]  # only the variant and the seed differ between demo runs
    return ds.plan_runs(base, list(variants), list(seeds))


def cmd_preload(args) -> int:
    try:
        if args.preset is None or args.epochs is None:  # what the Home page's button trains on this server
            from attn.runs.settings import server_settings
            server = server_settings()
            args.preset = args.preset or server.demo_preset
            args.epochs = args.epochs if args.epochs is not None else server.demo_epochs
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        configs = preload_configs(args.preset, ds.parse_seeds(args.seeds), variants, args.epochs)
        store = RunStore(args.home)
    except (StoreError, ValueError) as exc:  # ConfigError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2

    labels = [f"{c.model.label} seed {c.seed}" for c in configs]
    store.mark_interrupted()  # a run left queued by a process that is gone is not waited for
    ids: list[str | None] = [None] * len(configs)
    outcome = [""] * len(configs)
    for i, cfg in enumerate(configs):
        ids[i] = store.find_cached(cfg)
        if ids[i] is not None:
            outcome[i] = "cached"
        else:
            ids[i] = _training_elsewhere(store, cfg)
            outcome[i] = "trained by another process" if ids[i] else ""
    todo = [i for i in range(len(configs)) if ids[i] is None]
    runner = None
    started = time.monotonic()
    try:
        if todo:
            from attn.runs.executors import make_runner  # the executor ATTN_EXECUTOR names (local, ray)
            runner = make_runner(store, max_jobs=args.jobs)
            for i, run_id in zip(todo, runner.submit_many([configs[i] for i in todo])):  # all queued, or none
                ids[i], outcome[i] = run_id, "trained"
            print(f"training {len(todo)} run{'s' if len(todo) != 1 else ''} of the {args.preset} preset "
                  f"({runner.max_jobs} at once); {len(configs) - len(todo)} already stored", file=sys.stderr)
        from attn.cli.train import record_study
        study = record_study(store, f"attn preload --preset {args.preset}", configs, ids, kind="lecture")
        _wait(store, [(labels[i], ids[i]) for i in range(len(configs)) if outcome[i] != "cached"])
    except (RuntimeError, ConfigError) as exc:  # JobError, StoreError; a Ray cluster that cannot be reached
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if runner is not None:
            runner.shutdown()  # an interrupted preload leaves its unfinished runs `interrupted`

    failed = 0
    width = max(len(label) for label in labels)
    for i, (label, run_id) in enumerate(zip(labels, ids)):
        run = store.run(run_id)
        if outcome[i] == "cached":
            text = "cached"
        elif run.status == "done":
            text = f"{outcome[i]} in {_seconds(run.train_seconds)}, BLEU {run.bleu or 0:.1f}"
        else:
            failed += 1
            text = f"{run.status}: {run.error or ''}"
        print(f"{label:<{width}}  {run_id}  {text}")
    print(f"{len(configs) - failed} of {len(configs)} runs ready in {store.home} "
          f"({time.monotonic() - started:.0f}s, code {code_version()})", file=sys.stderr)
    if study is not None:
        print(f"study {study}: open it with ?study={study} on the Lecture view", file=sys.stderr)
    return 1 if failed else 0


def _seconds(value) -> str:
    return ds.format_seconds(value) if value is None or value >= 60 else f"{value:.1f} s"


def _training_elsewhere(store: RunStore, cfg: RunConfig) -> str | None:
    """A queued or training run of this exact config and code in the store (e.g. the dashboard's)."""
    active = store.runs(status=list(ACTIVE))
    match = active[(active["config_key"] == cfg.key()) & (active["seed"] == cfg.seed)
                   & (active["code_version"] == code_version())]
    return None if match.empty else str(match["id"].iloc[-1])  # the oldest: it started first


def _wait(store: RunStore, runs: list[tuple[str, str]]) -> None:
    """Until every run has finished; a line on stderr per epoch and per finished run."""
    shown: dict[str, tuple] = {}
    while True:
        pending = 0
        for label, run_id in runs:
            progress = store.progress(run_id)
            status, epoch = progress.status, progress.epoch
            state = (status, epoch)
            if shown.get(run_id) != state:
                shown[run_id] = state
                if status == "running" and epoch:
                    print(f"{label}: epoch {epoch}/{progress.epochs} done, "
                          f"ETA {ds.format_seconds(progress.eta)}", file=sys.stderr, flush=True)
                elif status not in ACTIVE:
                    print(f"{label}: {status}", file=sys.stderr, flush=True)
            pending += status in ACTIVE
        if not pending:
            return
        time.sleep(POLL_SECONDS)
