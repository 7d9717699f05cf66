"""What Ray costs: a sweep of small runs on the local executor and on a local Ray cluster, side by side,
and what a class or a large sweep would need in nodes, from the measured per-run cost.

    python benchmarks/ray_overhead.py [--runs 12] [--cpus 2] [--n-train 1200] [--epochs 8] [--repeats 1]
                                      [--node-cores 16] [--class-students 200] [--class-minutes 10]
                                      [--sweep-cells 1000] [--sweep-hours 1] [--no-lecture]

1. The sweep: `--runs` runs of the tiny preset (reverse task, `--n-train` pairs, `--epochs` epochs, seeds
   0, 1, ...) trained (a) by the local executor (JobRunner, `--cpus` worker processes with one torch thread
   each) and (b) by RayRunner on a local Ray cluster of `--cpus` CPUs (ray.init(num_cpus=...), one task of
   one CPU and one torch thread per run). Each in a fresh temporary store, so nothing comes from the run
   cache; the wall time runs from submit to the last run stored. Printed: both wall times and Ray's
   overhead in % of the local one (goal: <= 10 %). Ray's own start (ray.init, and RayRunner.warm: its workers
   importing torch and the trainer, as the local runner's forkserver does) is timed apart: a server
   pays it once, not per sweep. With `--repeats` > 1 the two alternate and every pair is printed. Each
   sweep runs in a child process of a session of its own (see `sweep_in_own_session`: Linux's autogroup
   scheduling would otherwise favour Ray's workers, which start in their own session, on a busy machine).
2. Per-task overhead: (Ray wall - local wall) x cpus / runs, the extra CPU-slot seconds each run costs on
   Ray; and the round trip of an empty streaming task (submit, one yield back), median of 20.
3. Scaling on paper: the per-run cost in core-seconds (the CPU time of one sweep run, and of one lecture-
   preset run unless --no-lecture, each trained here on one thread: load-independent, unlike a wall time
   on a shared machine), plus the per-task overhead (the larger of the two above), gives
   the cores and `--node-cores` nodes a class of `--class-students` (three lecture runs each, all distinct:
   the run cache shares identical requests, so the worst case) needs to finish in `--class-minutes`, and a
   `--sweep-cells` sweep of small runs or of lecture runs in `--sweep-hours`.
Figures are printed, never asserted. Everything happens in temporary folders, never in ./runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import forkserver

import ray

from attn.config import PRESETS, preset
from attn.runs.ray_runner import RayRunner
from attn.runs.workers import mp_context
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore


def sweep_configs(runs: int, n_train: int, epochs: int) -> list:
    tiny = PRESETS["tiny"]
    base = dataclasses.replace(tiny, data=dataclasses.replace(tiny.data, n_train=n_train),
                               train=dataclasses.replace(tiny.train, epochs=epochs))
    return [dataclasses.replace(base, seed=seed) for seed in range(runs)]


def timed_sweep(make_runner, configs) -> tuple[float, float, float]:
    """(wall seconds from submit to the last run stored, mean seconds a run spent training and evaluating as
    its worker measured them, seconds the runner's workers took to get ready before), in a fresh store;
    every run must end done. Both executors get ready before the clock starts: a RayRunner's workers import
    torch and the trainer (warm), the local runner's fork server does the same (mp_context). A server pays
    that once, like Ray's own start, so it is timed apart."""
    with tempfile.TemporaryDirectory(prefix="ray-overhead-") as home:
        store = RunStore(home)
        runner = make_runner(store)
        try:
            start = time.perf_counter()
            if hasattr(runner, "warm"):
                runner.warm()
            else:  # the local runner's fork server, with torch and the trainer imported (workers.mp_context)
                mp_context()
                forkserver.ensure_running()
            ready = time.perf_counter() - start
            start = time.perf_counter()
            ids = runner.submit_many(configs)
            statuses = runner.wait_many(ids)
            seconds = time.perf_counter() - start
            inside = statistics.mean(store.run(i).train_seconds + store.run(i).eval_seconds for i in ids)
        finally:
            runner.shutdown()
    if set(statuses.values()) != {"done"}:
        raise RuntimeError(f"the sweep's runs ended {sorted(set(statuses.values()))}, not all done")
    return seconds, inside, ready


@ray.remote(num_returns="streaming", num_cpus=1, max_retries=0)
def _empty_task():
    yield "hello"


def empty_round_trip(n: int = 20) -> float:
    """Median seconds to submit an empty streaming task and receive its one yield (workers warm)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        for ref in _empty_task.remote():
            ray.get(ref)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_seconds(cfg) -> float:
    """CPU seconds of one run of `cfg` trained here on one torch thread, data to evaluation (time.process_time:
    what a dedicated core would take, whatever else the machine is doing)."""
    import torch
    from attn.training.experiment import run
    torch.set_num_threads(1)
    start = time.process_time()
    run(cfg)
    return time.process_time() - start


def nodes_for(runs: int, per_run: float, seconds: float, node_cores: int) -> tuple[int, int]:
    """(cores, nodes) to train `runs` runs of `per_run` core-seconds each within `seconds` wall seconds.

    cores = ceil(runs x per_run / seconds), but never more than one core per run; nodes = ceil(cores / node_cores).
    (Whole runs per core: a run is never split, so with fewer runs than cores the longest run sets the time.)
    """
    cores = min(runs, math.ceil(runs * per_run / seconds))
    if per_run > seconds:
        cores = runs  # even one run per core does not fit: the best is every run at once
    return cores, math.ceil(cores / node_cores)


def one_sweep(args) -> None:
    """--one local|ray: one sweep in this process -> one JSON line (wall, inside, Ray's start seconds)."""
    configs = sweep_configs(args.runs, args.n_train, args.epochs)
    started = 0.0
    if args.one == "ray":
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, configure_logging=False)
        started = time.perf_counter() - start
        wall, inside, ready = timed_sweep(lambda store: RayRunner(store, max_jobs=args.cpus), configs)
        started += ready
        ray.shutdown()
    else:
        wall, inside, _ = timed_sweep(lambda store: JobRunner(store, max_jobs=args.cpus, nice=0), configs)
    print(json.dumps([wall, inside, started]))


def sweep_in_own_session(args, executor: str) -> tuple[float, float, float]:
    """One sweep in a child process of a session of its own -> (wall, inside, Ray's start seconds).

    Linux's autogroup scheduling (kernel.sched_autogroup_enabled) shares the CPU fairly between sessions,
    and Ray starts its workers in a session of their own: on a busy machine, workers of the benchmark's
    session would get a smaller share than Ray's, and the comparison would measure the scheduler. Each
    sweep alone in its own session puts the two executors on the same footing.
    """
    argv = [sys.executable, __file__, "--one", executor, "--runs", str(args.runs), "--cpus", str(args.cpus),
            "--n-train", str(args.n_train), "--epochs", str(args.epochs)]
    done = subprocess.run(argv, capture_output=True, text=True, start_new_session=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the {executor} sweep failed:\n{done.stderr[-3000:]}")
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--cpus", type=int, default=2, help="local workers, and the Ray cluster's CPUs")
    parser.add_argument("--n-train", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--node-cores", type=int, default=16)
    parser.add_argument("--class-students", type=int, default=200)
    parser.add_argument("--class-minutes", type=float, default=10.0)
    parser.add_argument("--sweep-cells", type=int, default=1000)
    parser.add_argument("--sweep-hours", type=float, default=1.0)
    parser.add_argument("--no-lecture", action="store_true", help="skip timing one lecture-preset run")
    parser.add_argument("--one", choices=("local", "ray"), help=argparse.SUPPRESS)  # one sweep, JSON out
    args = parser.parse_args()
    if args.one:
        return one_sweep(args)
    print(f"Ray {ray.__version__}; sweep: {args.runs} runs of the tiny preset, n_train={args.n_train}, "
          f"epochs={args.epochs}, {args.cpus} at once, one torch thread each")
    local_times, ray_times = [], []
    for repeat in range(args.repeats):
        local_wall, inside_local, _ = sweep_in_own_session(args, "local")
        ray_wall, inside_ray, ray_start = sweep_in_own_session(args, "ray")
        local_times.append(local_wall)
        ray_times.append(ray_wall)
        print(f"  repeat {repeat + 1}: local {local_wall:.1f} s, Ray {ray_wall:.1f} s (its cluster started and "
              f"its workers imported torch in {ray_start:.1f} s before, once per server), "
              f"overhead {100 * (ray_wall / local_wall - 1):+.1f} %; "
              f"a run's own training + evaluation {inside_local:.2f} s local, {inside_ray:.2f} s on Ray (mean)")
    ray.init(num_cpus=args.cpus, include_dashboard=False, configure_logging=False)
    local, on_ray = statistics.median(local_times), statistics.median(ray_times)
    overhead = 100 * (on_ray / local - 1)
    print(f"median: local {local:.1f} s, Ray {on_ray:.1f} s -> Ray's overhead {overhead:+.1f} % of the local "
          f"wall time (goal <= 10 %)")

    from_sweep = (on_ray - local) * args.cpus / args.runs
    round_trip = empty_round_trip()
    small_cfg = sweep_configs(1, args.n_train, args.epochs)[0]
    in_task = ray.get(ray.remote(num_cpus=1)(cpu_seconds).remote(small_cfg))  # the same work inside a Ray task
    ray.shutdown()
    print(f"per-task overhead: {from_sweep:+.2f} slot-seconds per run from the sweep ((Ray - local) x cpus / runs); "
          f"an empty streaming task's round trip {1000 * round_trip:.1f} ms (median of 20)")
    per_task = max(from_sweep, round_trip)  # a negative difference says the sweep measured something else
    print(f"per-run cost (wall): {local * args.cpus / args.runs:.2f} slot-seconds per small run (local wall x "
          "cpus / runs)")
    small = cpu_seconds(small_cfg)
    print(f"per-run cost (CPU): {small:.2f} core-seconds per small run (one run here, one thread, process time); "
          f"{in_task:.2f} inside a Ray task")
    costs = {"small run": small + per_task}
    if not args.no_lecture:
        lecture = cpu_seconds(preset("lecture").with_variant("additive"))
        print(f"per-run cost (CPU): {lecture:.1f} core-seconds per lecture-preset run (additive)")
        costs["lecture run"] = lecture + per_task
    print(f"\nscaling on paper ({args.node_cores}-core nodes, each run one core, Ray's per-task overhead added):")
    if "lecture run" in costs:
        runs = 3 * args.class_students
        cores, nodes = nodes_for(runs, costs["lecture run"], 60 * args.class_minutes, args.node_cores)
        print(f"  a class of {args.class_students}, each training the lecture demo's 3 runs with settings of "
              f"their own ({runs} runs of {costs['lecture run']:.1f} core-s) within {args.class_minutes:g} min: "
              f"{cores} cores = {nodes} nodes")
    for what, cost in costs.items():
        cores, nodes = nodes_for(args.sweep_cells, cost, 3600 * args.sweep_hours, args.node_cores)
        print(f"  a {args.sweep_cells}-cell sweep of {what}s ({cost:.1f} core-s each) within "
              f"{args.sweep_hours:g} h: {cores} cores = {nodes} nodes")


if __name__ == "__main__":
    main()
