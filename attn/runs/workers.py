"""The worker side of the job runner: where worker processes come from and what one of them does.

On a small CPU, parallel single-thread trainings beat one multi-thread training in total throughput
(measured on 2 cores: 2 x 9.2k vs 12.7k target tokens/s), so a comparison of three variants trains
them side by side, one process each. Workers are forked from a fork server that has imported torch
(see `mp_context`), so a run starts in a fraction of a second; `start` launches one without the
caller's `__main__` script; `work` is the process's whole life: train one stored run, record its
progress in the store, store its result or how it ended.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
import types

from attn.runs.store import RunStore, process_alive

CANCEL_POLL_SECONDS = 0.5   # a worker looks at its cancel flag at most this often


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    ctx = mp.get_context("forkserver")
    # no effect once the server runs; `work` is unpickled from attn.runs.workers in every worker
    ctx.set_forkserver_preload(["attn.training.experiment", "attn.runs.workers"])
    return ctx


_launch_lock = threading.Lock()


def start(process: mp.process.BaseProcess) -> None:
    """`process.start()`, with a `__main__` that names no script while the process is launched.

    multiprocessing has a new process re-run the parent's `__main__` file (for functions defined
    there), reading `sys.modules["__main__"]` when it is started. Our workers run attn functions only,
    and under Streamlit `__main__` is the page script being run (its ScriptRunner installs the page
    as `sys.modules["__main__"]`): a worker must not execute a page. So, during the launch only,
    `__main__` is a module without a file or spec, which multiprocessing leaves alone. Public
    interfaces only (sys.modules, Process.start); tests/runs/test_workers.py checks the effect.
    """
    with _launch_lock:  # sys.modules is process-wide: one launch at a time
        main = sys.modules.get("__main__")
        placeholder = types.ModuleType("__main__")  # no __file__, __spec__ None: nothing to re-run
        sys.modules["__main__"] = placeholder
        try:
            process.start()
        finally:
            if sys.modules.get("__main__") is placeholder:  # Streamlit may have installed a new page
                sys.modules["__main__"] = main


# ------------------------------------------------------------------------------------ worker process

class Stopped(Exception):
    """Raised by StopCheck inside the training loop: the run ends with `status` and `reason`."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class StopCheck:
    """`should_stop` for the trainer: raises Stopped on a cancel request or when the runner is gone.

    Raising (rather than returning True) also skips the test-set evaluation of a run nobody wants.
    """

    def __init__(self, store: RunStore, run_id: str, runner: str):
        self.store, self.run_id, self.runner = store, run_id, runner  # runner: its process_token
        self.parent = os.getppid()  # the fork server, which ends when the runner does
        self.last = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < CANCEL_POLL_SECONDS:
            return False
        self.last = now
        if os.getppid() != self.parent or not process_alive(self.runner):
            raise Stopped("interrupted", "the process that started this run stopped; resubmit it to train "
                                         "it again")
        if self.store.cancel_requested(self.run_id):
            raise Stopped("cancelled", "stopped by request")
        return False


def _die_with_parent() -> None:
    """Linux: be killed when the parent dies, even by SIGKILL (prctl PR_SET_PDEATHSIG).

    The parent is the fork server, which exits as soon as the runner's process is gone (or, where
    workers are spawned, the runner's dispatcher thread itself).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # the parent check in StopCheck still ends the run within half a second


def work(home: str, run_id: str, threads: int, runner: str, nice: int = 10, flush_seconds: float = 0.5,
         events=None) -> None:
    """One run in a worker process: train, record progress, store the result or how it ended.

    runner:  the process_token of the process whose JobRunner started this worker
    nice:    added to the worker's niceness (10: training yields the CPU to a server answering pages)
    events:  a multiprocessing queue that receives (run_id, TrainEvent) for every event, or None
    """
    _die_with_parent()
    # Ctrl-C in a terminal reaches the whole process group; the runner decides what a worker does
    # (cancel, and the worker stops itself within a batch), so the worker does not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        try:
            os.nice(nice)
        except (AttributeError, OSError):
            pass
    import torch
    from attn.training.experiment import run
    torch.set_num_threads(threads)
    store = RunStore(home, flush_seconds=flush_seconds)
    stop = StopCheck(store, run_id, runner)
    callbacks = [store.recorder(run_id)]
    if events is not None:
        events.cancel_join_thread()  # a reader that stopped reading must not keep this process from exiting
        callbacks.append(lambda event: events.put((run_id, event)))
    try:
        store.set_status(run_id, "running", pid=os.getpid())
        stop()  # the runner may have gone, or a cancel come, while this process started
        result = run(store.config(run_id), callbacks=callbacks, should_stop=stop)
        if store.cancel_requested(run_id):
            raise Stopped("cancelled", "stopped by request")
        store.save_result(run_id, result)
    except Stopped as stopped:
        store.flush(run_id)  # the curves so far are kept
        store.set_status(run_id, stopped.status, error=stopped.reason)
    except Exception as exc:
        traceback.print_exc()
        try:
            store.flush(run_id)
        finally:
            store.set_status(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
