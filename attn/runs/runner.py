"""The job runner: models train in worker processes, so no page waits and no crash spreads.

`submit` puts a run in the store as `queued` and in a FIFO queue; a dispatcher thread starts up to
`max_jobs` worker processes (forked from a fork server that has imported torch, see
`parallel.mp_context`, so a run starts in a fraction of a second). Each worker trains one run
at low priority and writes its progress to the store, where every page reads it. The store, not this
object, is the truth about a run, so a watcher in another process sees what a worker does, and a
server restarted after a crash finds every run it had (the ones it was training as `interrupted`).

The interface is small on purpose (submit, cancel, status, progress, active, shutdown), so another
backend (Ray, a cluster queue) can replace this one.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field

from attn.config import RunConfig, env_int
from attn.runs.workers import cpu_count, mp_context, threads_per_job
from attn.runs.store import ACTIVE, FINISHED, RunStore, process_alive, process_token

CANCEL_POLL_SECONDS = 0.5   # a worker looks at its cancel flag at most this often
CANCEL_GRACE_SECONDS = 1.5  # a worker that has not stopped this long after a cancel is killed


class JobError(RuntimeError):
    """A job the runner refuses: over the per-visitor limit, not a RunConfig, runner shut down."""


@dataclass
class _Job:
    run_id: str
    session: str | None
    key: tuple                              # (config key, seed): identical requests share one job
    process: mp.process.BaseProcess | None = None
    cancel_at: float | None = None          # monotonic time a cancel was asked for
    created: float = field(default_factory=time.monotonic)


class JobRunner:
    """A FIFO queue of runs trained by at most `max_jobs` worker processes at once.

    max_jobs:   concurrent trainings (default: $ATTN_MAX_JOBS, else one more than the cores)
    max_queued: queued + training runs one session may have (default: $ATTN_MAX_QUEUED, else 6);
                session None (the CLI, a script) is not limited
    """

    def __init__(self, store: RunStore | None = None, max_jobs: int | None = None,
                 max_queued: int | None = None, poll_seconds: float = 0.1):
        self.store = store if store is not None else RunStore()
        # one more worker than cores: the lecture demo's three variants train side by side on 2 cores
        self.max_jobs = max_jobs or env_int("ATTN_MAX_JOBS", cpu_count() + 1)
        self.max_queued = max_queued or env_int("ATTN_MAX_QUEUED", 6)
        self.poll_seconds = poll_seconds
        self._context = mp_context()
        self._lock = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running: dict[str, _Job] = {}
        self._closed = False
        self.store.mark_interrupted()  # what a previous server left behind can be resubmitted
        # Workers are started from this thread only: where they are spawned, Linux kills them when
        # the thread that started them ends (PR_SET_PDEATHSIG), and this thread lives as long as the
        # runner; forked from the fork server, they die with it, and it with this process.
        self._thread = threading.Thread(target=self._dispatch, name="attn-job-dispatcher", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    # -- the interface

    def submit(self, cfg: RunConfig, session: str | None = None, name: str | None = None) -> str:
        """Queue a run -> its id. A finished identical run (cache) or a queued one is returned as is."""
        if not isinstance(cfg, RunConfig):
            raise JobError(f"submit takes a RunConfig, got {type(cfg).__name__}")
        cfg = RunConfig.from_dict(cfg.to_dict())  # re-checked against the limits in force now
        cached = self.store.find_cached(cfg)
        if cached is not None:
            return cached
        key = (cfg.key(), cfg.seed)
        with self._lock:
            if self._closed:
                raise JobError("the job runner has been shut down; no new runs are accepted")
            jobs = [*self._queue, *self._running.values()]
            for job in jobs:
                if job.key == key and job.cancel_at is None:
                    return job.run_id  # two visitors asking for the same run share one training
            if session is not None:
                mine = sum(job.session == session for job in jobs)
                if mine >= self.max_queued:
                    raise JobError(f"you already have {mine} runs queued or training, the most one visitor may "
                                   f"have at once (ATTN_MAX_QUEUED={self.max_queued}); wait for one to finish "
                                   "or cancel one")
            run_id = self.store.create_run(cfg, name=name, session=session, status="queued")
            self._queue.append(_Job(run_id, session, key))
            self._lock.notify_all()
        return run_id

    def resubmit(self, run_id: str, session: str | None = None, name: str | None = None) -> str:
        """Train a stored run's config again (an interrupted or failed run) -> the new run's id."""
        return self.submit(self.store.config(run_id), session=session, name=name or self.store.run(run_id)["name"])

    def cancel(self, run_id: str) -> None:
        """Stop a run: a queued one at once, a training one within about a second (curves kept)."""
        with self._lock:
            for job in self._queue:
                if job.run_id == run_id:
                    self._queue.remove(job)
                    self.store.set_status(run_id, "cancelled", error="cancelled before it started")
                    return
            self.store.request_cancel(run_id)  # also reaches a worker of another process's runner
            job = self._running.get(run_id)
            if job is not None and job.cancel_at is None:
                job.cancel_at = time.monotonic()
            self._lock.notify_all()

    def status(self, run_id: str) -> str:
        return self.store.status(run_id)

    def progress(self, run_id: str) -> dict:
        """Status, step of total_steps, epoch, eta and tokens/s, as the worker last wrote them (<= 1 s old)."""
        return self.store.progress(run_id)

    def active(self) -> list[str]:
        """This runner's training runs, then its queued ones in the order they will start."""
        with self._lock:
            return [*self._running, *(job.run_id for job in self._queue)]

    def wait(self, run_id: str, timeout: float | None = None) -> str:
        """Block until `run_id` has finished (or `timeout` seconds passed) -> its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.store.status(run_id)
            if status in FINISHED or (deadline is not None and time.monotonic() > deadline):
                return status
            time.sleep(0.05)

    def shutdown(self) -> None:
        """Stop the dispatcher and every worker; runs not finished become `interrupted` (resubmittable)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            queued, running = list(self._queue), list(self._running.values())
            self._queue.clear()
            self._running.clear()
            self._lock.notify_all()
        for job in running:
            job.process.kill()
        for job in running:
            job.process.join(5)
        for job in queued + running:
            try:
                if self.store.status(job.run_id) in ACTIVE:
                    self.store.set_status(job.run_id, "interrupted", error="the server stopped before this run "
                                          "finished; resubmit it to train it again")
            except Exception as exc:  # a store gone with the server must not hide the other runs
                print(f"attn.runs.runner: could not mark run {job.run_id} interrupted: {exc}", file=sys.stderr)
        if self._thread is not threading.current_thread():
            self._thread.join(5)
        atexit.unregister(self.shutdown)

    # -- the dispatcher thread

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                try:
                    self._reap()
                    self._start_queued()
                except Exception:  # the dispatcher must outlive a store hiccup
                    traceback.print_exc()
                self._lock.wait(self.poll_seconds)

    def _start_queued(self) -> None:
        while self._queue and len(self._running) < self.max_jobs:
            job = self._queue.popleft()
            if self.store.cancel_requested(job.run_id):  # cancelled through the store by another process
                self.store.set_status(job.run_id, "cancelled", error="cancelled before it started")
                continue
            job.process = self._context.Process(
                target=_work, name=f"attn-run-{job.run_id}", daemon=True,
                args=(str(self.store.home), job.run_id, threads_per_job(self.max_jobs), process_token()))
            try:
                job.process.start()
            except Exception as exc:  # a run that cannot start must not stay "queued" for ever
                self.store.set_status(job.run_id, "failed", error=f"the worker process could not start: {exc}")
                continue
            self._running[job.run_id] = job

    def _reap(self) -> None:
        for run_id, job in list(self._running.items()):
            process = job.process
            if process.exitcode is None:
                if job.cancel_at is not None and time.monotonic() - job.cancel_at > CANCEL_GRACE_SECONDS:
                    process.kill()  # stuck outside the training loop (loading data, evaluating)
                elif job.cancel_at is None and self.store.cancel_requested(run_id):
                    job.cancel_at = time.monotonic()  # asked through the store by another process
                continue
            process.join()
            del self._running[run_id]
            if self.store.status(run_id) not in ACTIVE:
                continue  # the worker recorded how it ended
            if job.cancel_at is not None:
                self.store.set_status(run_id, "cancelled", error="stopped by request")
            elif process.exitcode < 0:
                self.store.set_status(run_id, "interrupted", error=f"the worker process was killed by "
                                      f"{_signal_name(-process.exitcode)}; resubmit the run to train it again")
            else:
                self.store.set_status(run_id, "failed", error=f"the worker process exited with code "
                                      f"{process.exitcode} before the run finished")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# ------------------------------------------------------------------------------------ worker process

class _Stopped(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class _StopCheck:
    """`should_stop` for the trainer: raises _Stopped on a cancel request or when the server is gone.

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
            raise _Stopped("interrupted", "the server process that started this run stopped; resubmit it "
                                          "to train it again")
        if self.store.cancel_requested(self.run_id):
            raise _Stopped("cancelled", "stopped by request")
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
        pass  # the parent check in _StopCheck still ends the run within half a second


def _work(home: str, run_id: str, threads: int, runner: str) -> None:
    """One run in a worker process: train, record progress, store the result or how it ended."""
    _die_with_parent()
    try:
        os.nice(10)  # training yields the CPU to the server answering pages
    except (AttributeError, OSError):
        pass
    import torch
    from attn.training.experiment import run
    torch.set_num_threads(threads)
    store = RunStore(home)
    stop = _StopCheck(store, run_id, runner)
    try:
        store.set_status(run_id, "running", pid=os.getpid())
        stop()  # the server may have gone, or a cancel come, while this process started
        result = run(store.config(run_id), callbacks=[store.recorder(run_id)], should_stop=stop)
        if store.cancel_requested(run_id):
            raise _Stopped("cancelled", "stopped by request")
        store.save_result(run_id, result)
    except _Stopped as stopped:
        store.flush(run_id)  # the curves so far are kept
        store.set_status(run_id, stopped.status, error=stopped.reason)
    except Exception as exc:
        traceback.print_exc()
        try:
            store.flush(run_id)
        finally:
            store.set_status(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
