"""`python -m attn train`: the dashboard's job runner, from a terminal.

The runs go to the same JobRunner the pages use, so a request the store has already answered comes
back from the run cache at once (`--retrain` trains it again), every trained run is stored once, a
Ctrl-C cancels the runs (each stops within a batch and keeps its curves), and a process killed with -9
leaves them `interrupted` for whoever opens the store next; SIGTERM is handled as Ctrl-C. `--no-store`
trains in a temporary store that is removed afterwards (or, after a kill -9, by the next `--no-store`).
Results (tables, `--out` JSON) are read back from the store.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

from attn.config import RunConfig
from attn.cli.progress import Progress


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, `timeout`), handled as Ctrl-C is: the runs are cancelled, a temporary store removed."""


def train_command(args, configs: Sequence[RunConfig]) -> int:
    """Train (or answer from the store) every run of `configs` (main.run_configs: the models x seeds one
    command asks for, sharing their data); print the tables, write --out."""
    def terminate(signum, frame):
        raise Terminated()

    main_thread = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        return _train(args, list(configs))
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _train(args, configs: list[RunConfig]) -> int:
    from attn.runs.workers import default_jobs
    start = time.perf_counter()
    n_runs = len(configs)
    jobs = max(1, min(args.jobs or default_jobs(n_runs), n_runs))
    from attn.data.load import check_subwords, load_data  # pure Python; workers import torch in their fork server
    from attn.runs.executors import executor_name, make_runner  # local workers, or Ray (ATTN_EXECUTOR=ray)
    with _run_store(temporary=args.no_store) as store:
        data, data_config = None, configs[0].data  # every run of one command shares its data
        if data_config.corpus:  # the corpus's content hash is part of the config, so of the cache key
            data = load_data(data_config)  # official splits checked here: layout, shared vocabulary
            check_subwords(data_config, data)  # a subword size the corpus cannot hold: refused before queueing
            if data.report.get("sha256"):
                data_config = dataclasses.replace(data_config, corpus_sha256=data.report["sha256"])
                configs = [dataclasses.replace(cfg, data=data_config) for cfg in configs]
        labels = [f"{c.model.label} seed {c.seed}" for c in configs]
        progress = Progress(labels)
        # on Ray, --jobs or the cluster's CPUs: this machine's cores say nothing about the cluster's
        runner = make_runner(store, max_jobs=jobs if executor_name() == "local" else args.jobs, nice=0, events=True)
        ids: list[str] = []
        if not (args.retrain or args.no_store):  # before anything is queued: stored runs, or a short timed run
            from attn.runs.estimate import cli_measuring, estimate_runs
            found = estimate_runs(configs, jobs=runner.max_jobs, store=store, measuring="never")
            if found.seconds is None and cli_measuring(configs) == "wait":  # nothing stored to go by: time it
                print("estimate: timing a short run of each model first…", file=sys.stderr, flush=True)
                found = estimate_runs(configs, jobs=runner.max_jobs, store=store, measuring="wait")
            print(f"estimate: {found.note}", file=sys.stderr, flush=True)
        try:
            ids = runner.submit_many(configs, cache=not args.retrain)
            cached = [store.status(run_id) == "done" for run_id in ids]
            study = None if args.no_store else record_study(store, f"attn train --preset {args.preset}", configs, ids)
            if data is None:
                data = load_data(data_config)  # for the lines below; the workers load their own meanwhile
            if data.report:
                _print_report(data.report)
            print(f"{data.name}: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test pairs; "
                  f"{len(configs)} runs ({jobs} at a time): {_models(configs)}", file=sys.stderr)
            for i, run_id in enumerate(ids):
                if cached[i]:
                    progress.note(i, f"from the store (run {run_id}; --retrain trains it again)")
            statuses = runner.wait_many(ids, _by_index(ids, progress))
        except KeyboardInterrupt as stop:
            _cancel(runner, store, ids, progress)
            return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
        finally:
            runner.shutdown()
        ended = [(labels[i], run_id) for i, run_id in enumerate(ids) if statuses[run_id] != "done"]
        for label, run_id in ended:
            run = store.run(run_id)
            print(f"error: {label} (run {run_id}) ended {run.status}: {run.error}", file=sys.stderr)
        if ended:
            return 2
        from attn.training.evaluate import signatures  # torch: the workers are done by now
        scored_by = signatures(data)  # the same for every run of one command: they share the data
        summaries = [stored_summary(store, run_id, data.name, scored_by) for run_id in ids]
        table = stored_table(store, ids, configs, data.name)
        _print_tables(table, [(s["variant"], s["seed"], s["params"]) for s in summaries])
        print(corpus_level(summaries))
        print(signature_footer(scored_by))
        wall = time.perf_counter() - start
        print(f"\nwall time {wall:.1f}s for {len(configs)} runs (data, training and evaluation)", file=sys.stderr)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump({"runs": summaries, "wall_seconds": round(wall, 2)}, f, indent=2)
            print(f"wrote {args.out}", file=sys.stderr)
        if not args.no_store:
            unique = list(dict.fromkeys(ids))
            old = [run_id for run_id in unique if cached[ids.index(run_id)]]
            new = [run_id for run_id in unique if run_id not in old]
            if new:
                print(f"stored {len(new)} runs in {store.home}: {' '.join(new)}", file=sys.stderr)
            if old:
                print(f"{len(old)} runs answered from {store.home} (--retrain trains them again): "
                      f"{' '.join(old)}", file=sys.stderr)
            if study is not None:
                print(f"study {study}: open it with ?study={study} on the Lecture view", file=sys.stderr)
    return 0


def record_study(store, command: str, configs: Sequence[RunConfig], ids: Sequence[str],
                 kind: str | None = None) -> str | None:
    """Record the runs one command asked for as a study (store.add_study) -> its id, printed so it can be
    opened as `?study=<id>`: of kind "lecture" or "length" when they are that demo (plans.demo_kind: the
    Lecture view opens on it), else "cli"; `kind` says it outright (preload: the server's own demo, whatever
    ATTN_DEMO_PRESET names). A study that cannot be stored is said, never fatal: the runs are."""
    from attn.runs.plans import demo_kind
    from attn.runs.store import StoreError
    labels = ", ".join(dict.fromkeys(cfg.model.label for cfg in configs))
    seeds = ",".join(map(str, dict.fromkeys(cfg.seed for cfg in configs)))
    name = f"{command}: {labels}; seeds {seeds}"
    try:
        study = store.add_study(name if len(name) <= 200 else name[:199] + "…", kind or demo_kind(configs) or "cli", ids)
    except StoreError as exc:
        print(f"warning: the runs were queued, but not recorded as one study: {exc}", file=sys.stderr)
        return None
    print(f"study {study} ({len(set(ids))} runs)", file=sys.stderr, flush=True)
    return study


def lecture_seconds() -> float:
    """Wall time of the lecture demo as `train --preset lecture --no-store` runs it (`bench`'s figure):
    three workers at once in a temporary store, loading data, training, evaluating, storing."""
    from attn.config import preset
    from attn.runs.executors import make_runner
    from attn.runs.workers import default_jobs
    start = time.perf_counter()
    configs = [preset("lecture").with_variant(v) for v in ("none", "additive", "dot")]
    with _run_store(temporary=True) as store:
        runner = make_runner(store, max_jobs=default_jobs(len(configs)), nice=0)
        try:
            statuses = runner.wait_many(runner.submit_many(configs))
        finally:
            runner.shutdown()
    if set(statuses.values()) != {"done"}:
        raise RuntimeError(f"the lecture benchmark's runs ended {sorted(statuses.values())}, not done")
    return time.perf_counter() - start


@contextlib.contextmanager
def _run_store(temporary: bool):
    """The run store ($ATTN_HOME), or with --no-store a temporary one, removed afterwards."""
    from attn.runs.store import RunStore
    if not temporary:
        yield RunStore()
        return
    from attn.runs.store import process_token
    folder = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
    store = None
    try:
        (folder / OWNER_FILE).write_text(process_token(), encoding="ascii")
        _remove_abandoned(folder.parent)
        store = RunStore(folder)
        yield store
    finally:
        if store is not None:
            store.close()
        shutil.rmtree(folder, ignore_errors=True)


TEMPORARY_PREFIX, OWNER_FILE = "attn-no-store-", "owner"


def _remove_abandoned(parent: Path) -> None:
    """Remove the temporary stores of --no-store commands that are gone (killed with -9)."""
    from attn.runs.store import process_alive
    for folder in parent.glob(TEMPORARY_PREFIX + "*"):
        try:
            owner = (folder / OWNER_FILE).read_text(encoding="ascii").strip()
        except OSError:
            continue  # not ours, or its owner has not written the file yet
        if not process_alive(owner):
            shutil.rmtree(folder, ignore_errors=True)


def _by_index(ids: Sequence[str], progress: Progress):
    """An event handler (run id, event) -> progress(index, event) for every index holding that run."""
    indices: dict[str, list[int]] = {}
    for i, run_id in enumerate(ids):
        indices.setdefault(run_id, []).append(i)

    def on_event(run_id, event) -> None:
        for i in indices.get(run_id, ()):
            progress(i, event)
    return on_event


def _cancel(runner, store, ids: Sequence[str], progress: Progress) -> None:
    """Ctrl-C: cancel this command's unfinished runs and wait for them to stop.

    Each worker stops within a batch of seeing the request and records `cancelled` with its curves;
    a second Ctrl-C stops waiting, and the runner's shutdown then kills what is left (`interrupted`).
    """
    from attn.runs.store import ACTIVE
    active = [run_id for run_id in dict.fromkeys(ids) if store.status(run_id) in ACTIVE]
    print(f"\ninterrupted: cancelling {len(active)} unfinished run{'s' if len(active) != 1 else ''}",
          file=sys.stderr, flush=True)
    try:
        for run_id in active:
            runner.cancel(run_id)
        runner.wait_many(active, _by_index(ids, progress))
    except KeyboardInterrupt:
        pass
    runner.shutdown()
    for i, run_id in enumerate(ids):
        if run_id in active:
            progress.note(i, f"{store.status(run_id)} (run {run_id})")


def stored_summary(store, run_id: str, task: str, signatures: dict | None = None) -> dict:
    """The `--out` JSON record of a finished run, read from the store: `RunResult.summary()`'s fields.

    `signatures` (evaluate.signatures of the run's data: how BLEU and chrF were computed) join the stored
    overall metrics, as in RunResult.summary; the store keeps only the numbers.

    tests/cli/test_train_runs.py checks that both give the same record for the same run."""
    run = store.run(run_id)
    epochs = store.curves(run_id, "epoch")
    lo, hi = run.train_range
    return {"variant": run.variant, "style": run.style, "seed": run.seed, "task": task,
            "params": run.params, "train_seconds": round(run.train_seconds, 3),
            "eval_seconds": round(run.eval_seconds, 3), "epochs": len(epochs),
            "stopped": False,  # a done run trained to its end (a stop request ends it `cancelled`)
            "final_valid_loss": float(epochs["valid_loss"].iloc[-1]) if len(epochs) else None,
            "train_min_len": lo, "train_max_len": hi,
            "buckets": [row.to_json() for row in store.bucket_rows(run_id)],
            "overall": {**(run.overall or {}), **(signatures or {})}}


def stored_table(store, ids: Sequence[str], configs: Sequence[RunConfig], task: str):
    """One row per run x bucket, with task, variant (the model label) and seed: the table the CLI prints."""
    from attn.records import bucket_frame
    return bucket_frame((({"task": task, "variant": cfg.model.label, "seed": cfg.seed}, row)
                         for cfg, run_id in zip(configs, ids)
                         for row in store.bucket_rows(run_id)),
                        identity=("task", "variant", "seed"))



def _models(configs: Sequence[RunConfig]) -> str:
    """What the runs are, for the line before training: each model label once, with its sizes."""
    shown = {}
    for cfg in configs:
        m = cfg.model
        sizes = (f"{m.layers} layers x {m.heads} heads, d {m.hidden}, ff {m.ff}" if m.family == "transformer"
                 else f"{m.style} decoder, emb {m.emb}, hidden {m.hidden}")
        shown.setdefault(m.label, f"{m.label} ({sizes})")
    epochs = sorted({cfg.train.epochs for cfg in configs})
    return f"{', '.join(shown.values())}; {'/'.join(map(str, epochs))} epochs"


def corpus_level(summaries: Sequence[dict]) -> str:
    """Corpus-level scores on the whole test split, one line per run, beside the bucket tables above."""
    lines = [f"\ncorpus-level, whole test split ({summaries[0]['overall'].get('n', 0):,} sentences):"
             if summaries else ""]
    for s in summaries:
        overall = s["overall"]
        scores = ", ".join(f"{name} {overall[key]:.1f}" for key, name in (("bleu", "BLEU"), ("chrf", "chrF"))
                           if isinstance(overall.get(key), (int, float)))
        lines.append(f"  {s['variant']} seed {s['seed']}: {scores or 'no scores'}")
    return "\n".join(lines)


def signature_footer(signatures: dict) -> str:
    """The tables' footer: how every BLEU and chrF above was computed (sacrebleu's signatures), so the
    numbers can be put beside anyone else's computed the same way."""
    from attn.data.scoring import signature_note
    return "\nscored with " + signature_note(signatures)


def _print_report(report: dict) -> None:
    for split, official in (report.get("official") or {}).items():
        print(f"official {split} split: {' + '.join(official['files'])} ({official['kept']:,} pairs, as given)",
              file=sys.stderr)
    skipped = report.get("skipped") or {}
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in skipped.items())
        print(f"skipped lines: {reasons}", file=sys.stderr)


def _print_tables(table, params: Sequence[tuple[str, int, int]]) -> None:
    """The per-bucket tables on stdout; `params`: (model label, seed, parameters) of every run.

    Buckets past the longest training source (`unseen`) get a `*` after their label."""
    import pandas as pd
    table = table.rename(columns={"variant": "model"})
    if "unseen" in table:
        table["bucket"] = table["bucket"] + table["unseen"].map({True: "*", False: ""})
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for metric in ("bleu", "chrf", "align"):
            if metric not in table or table[metric].isna().all():
                continue
            pivot = table.pivot_table(index="bucket", columns="model", values=metric, aggfunc="mean",
                                      sort=False).round(1)
            print(f"\n{metric.upper() if metric != 'chrf' else 'chrF'} by source length (mean over seeds):")
            print(pivot.to_string())
        print("\nper run:")
        if "unseen" in table and table["unseen"].any():
            print("(* past the longest training source: lengths the model never saw)")
        cols = [c for c in ["model", "seed", "bucket", "n", "bleu", "chrf", "exact", "token_acc", "align", "aer"]
                if c in table]
        print(table[cols].round(1).to_string(index=False))
        models = pd.DataFrame(params, columns=["model", "seed", "params"]).drop_duplicates("model")
        print("\nmodels (parameters):")
        print(models[["model", "params"]].to_string(index=False, formatters={"params": "{:,}".format}))
