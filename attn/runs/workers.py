"""Several runs at once in worker processes, one torch thread per core each.

On a small CPU, parallel single-thread trainings beat one multi-thread training in total throughput
(measured on 2 cores: 2 x 9.2k vs 12.7k target tokens/s), so a comparison of three variants runs them
side by side. Workers come from a fork server (see `mp_context`) and send their training events back
on a queue, so the caller can draw one progress display for all of them.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Callable, Sequence

from attn.config import RunConfig
from attn.data.pairs import ParallelData

if TYPE_CHECKING:  # torch is imported where it is used: creating Workers must not wait for it
    from attn.training.events import TrainEvent

EventHandler = Callable[[int, "TrainEvent"], None]

_events = None  # the worker's end of the event queue


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_launch_lock = threading.Lock()


def _preparation_without_main(original):
    """multiprocessing's `spawn.get_preparation_data`, minus the parent's __main__ script.

    A new process re-runs the parent's __main__ file, for functions defined there. Ours live in attn
    modules, and under Streamlit __main__ is the page script being run (its ScriptRunner puts the
    page in sys.modules["__main__"]): a worker must not execute a page.
    """
    def prepare(name):
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data
    return prepare


if "forkserver" in mp.get_all_start_methods():
    from multiprocessing import context as _mp_context, popen_forkserver, spawn as _mp_spawn

    class _Popen(popen_forkserver.Popen):
        def _launch(self, process_obj):
            with _launch_lock:  # the patch is module-wide: one launch at a time
                original = _mp_spawn.get_preparation_data
                _mp_spawn.get_preparation_data = _preparation_without_main(original)
                try:
                    super()._launch(process_obj)
                finally:
                    _mp_spawn.get_preparation_data = original

    class _WorkerProcess(_mp_context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):
            return _Popen(process_obj)

    class _WorkerContext(_mp_context.ForkServerContext):
        Process = _WorkerProcess


def mp_context():
    """Where worker processes come from: a fork server that has imported torch and the model code.

    A spawned worker starts a fresh interpreter and imports torch, pandas and sacrebleu (about 2 s of
    CPU each); three workers and the parent importing at once on 2 cores cost the lecture demo ~4 s
    before its first step. The fork server imports them once and forks every worker from there. It
    never runs a tensor operation itself, so no torch thread pool exists at the fork, which is what
    makes a plain fork of a torch process unsafe. Platforms without fork servers spawn.
    """
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = _WorkerContext()  # the fork server, with workers that never run the caller's __main__
    ctx.set_forkserver_preload(["attn.training.experiment"])  # no effect once the server runs
    return ctx


def default_jobs(runs: int, cores: int | None = None) -> int:
    """Runs trained at once by default: all of them when they are at most one more than the cores.

    A comparison of three variants on a 2-core laptop then trains side by side, its loss curves
    growing together, instead of one variant waiting for a free core; more runs than that share
    the cores one worker each.
    """
    cores = cores or cpu_count()
    return max(1, runs if runs <= cores + 1 else cores)


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """torch threads for each of `jobs` concurrent workers: the cores shared out, at least one."""
    return max(1, (cores or cpu_count()) // max(1, jobs))


def _init_worker(threads: int, events) -> None:
    global _events
    import torch
    torch.set_num_threads(threads)
    _events = events


def _warm_up() -> None:
    """Import what a run needs, so a worker is ready by the time the data is."""
    from attn.training import evaluate, experiment  # noqa: F401  (pandas, sacrebleu and the model code)


def _run_in_worker(index: int, cfg: RunConfig, data: ParallelData | None):
    from attn.training.experiment import prepare, run
    prepared = prepare(cfg.data, data)
    result = run(cfg, prepared, callbacks=[lambda e: _events.put((index, e))])
    return index, result


class Workers:
    """A pool of training workers whose start-up begins as soon as it is created.

    The fork server's interpreter start and torch import (2-3 s on a small CPU) run while the caller
    loads the data; the workers are forked from it when the runs are submitted:

        with Workers(jobs) as workers:
            data = load_data(cfg.data)
            results = workers.run(configs, data, on_event)
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        ctx = mp_context()
        self._events = ctx.Queue()
        self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_init_worker,
                                         initargs=(threads_per_job(self.jobs), self._events))
        if ctx.get_start_method() == "forkserver":
            import multiprocessing.forkserver
            multiprocessing.forkserver.ensure_running()  # returns at once; the server imports meanwhile
        else:
            for _ in range(self.jobs):  # spawned workers import torch each, beside the data loading
                self._pool.submit(_warm_up)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, configs: Sequence[RunConfig], data: ParallelData | None = None,
            on_event: EventHandler | None = None) -> list:
        """Train and evaluate every config in the workers; results in the order of `configs`."""
        futures = [self._pool.submit(_run_in_worker, i, cfg, data) for i, cfg in enumerate(configs)]
        results: list = [None] * len(configs)
        pending = set(futures)
        while pending:
            try:
                index, event = self._events.get(timeout=0.2)
                if on_event:
                    on_event(index, event)
            except queue.Empty:
                pass
            for f in [f for f in pending if f.done()]:
                pending.discard(f)
                index, result = f.result()
                results[index] = result
        while True:  # events still in flight after the last run ended
            try:
                index, event = self._events.get_nowait()
            except queue.Empty:
                break
            if on_event:
                on_event(index, event)
        return results


def run_in_process(configs: Sequence[RunConfig], data: ParallelData | None = None,
                   on_event: EventHandler | None = None) -> list:
    """Every config one after another in this process, with all its torch threads."""
    from attn.training.experiment import prepare, run
    results = []
    prepared_cache: dict = {}
    for i, cfg in enumerate(configs):
        key = repr(cfg.data)
        if key not in prepared_cache:
            prepared_cache[key] = prepare(cfg.data, data)
        callbacks = [lambda e, i=i: on_event(i, e)] if on_event else []
        results.append(run(cfg, prepared_cache[key], callbacks=callbacks))
    return results


def run_many(configs: Sequence[RunConfig], data: ParallelData | None = None, jobs: int | None = None,
             on_event: EventHandler | None = None) -> list:
    """Train and evaluate every config; results come back in the order of `configs`.

    `data` (already loaded) is shared by every run; None loads each run's `cfg.data` in its worker.
    With one job, runs go one after another in this process with all cores.
    """
    jobs = max(1, min(jobs or default_jobs(len(configs)), len(configs)))
    if jobs == 1:
        return run_in_process(configs, data, on_event)
    with Workers(jobs) as workers:
        return workers.run(configs, data, on_event)
