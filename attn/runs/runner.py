"""The job runner: models train in worker processes, so no page or terminal waits and no crash spreads.

The one way a run is trained: the dashboard's pages, `python -m attn preload` and `python -m attn train`
all submit here. `submit`/`submit_many` answer from the run cache (a finished run of the same config,
seed and code version) or put new runs in the store as `queued` and in a FIFO queue; a dispatcher
thread starts up to `max_jobs` worker processes (forked from a fork server that has imported torch,
see `attn.runs.workers`), each training one run and writing its progress to the store, where every
page reads it. The store, not this object, is the truth about a run, so a watcher in another process
sees what a worker does, and the next process to open the store finds every run this one had (the
ones it was training as `interrupted`).

The interface is small on purpose (submit, cancel, status, progress, active, wait, shutdown), so
another backend can replace how a job starts, ends and is cancelled and keep the rest:
`attn.runs.ray_runner.RayRunner` overrides `_start_queued`, `_reap` and `_stop_jobs`
(`attn.runs.executors.make_runner` picks one).
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import queue
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from attn.config import RunConfig, env_int
from attn.runs import workers
from attn.runs.store import ACTIVE, FINISHED, RunStore, StoreError, process_token

if TYPE_CHECKING:
    from attn.records import RunRecord
    from attn.training.events import TrainEvent

CANCEL_GRACE_SECONDS = 1.5  # a worker that has not stopped this long after a cancel is killed

EventHandler = Callable[[str, "TrainEvent"], None]  # (run id, event)


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

    max_jobs:     concurrent trainings (default: $ATTN_MAX_JOBS, else one more than the cores)
    max_queued:   queued + training runs one session may have (default: $ATTN_MAX_QUEUED, else 6);
                  session None (the CLI, a script) is not limited
    nice:         niceness added to each worker: 10 (default) yields the CPU to a server answering
                  pages; the CLI, which only waits, passes 0
    events:       True: workers also send every TrainEvent to this process, read by `wait_many`
                  (the CLI's progress bars); the store records them either way
    cancel_grace: seconds a training worker may take to stop after a cancel before it is killed
                  (default: $ATTN_CANCEL_GRACE, whole seconds, else 1.5)
    """

    def __init__(self, store: RunStore | None = None, max_jobs: int | None = None,
                 max_queued: int | None = None, poll_seconds: float = 0.1, *, nice: int = 10,
                 events: bool = False, cancel_grace: float | None = None):
        self.store = store if store is not None else RunStore()
        # one more worker than cores: the lecture demo's three variants train side by side on 2 cores
        self.max_jobs = max_jobs or env_int("ATTN_MAX_JOBS", workers.cpu_count() + 1)
        self.max_queued = max_queued or env_int("ATTN_MAX_QUEUED", 6)
        self.poll_seconds, self.nice = poll_seconds, nice
        self.cancel_grace = cancel_grace if cancel_grace is not None else (env_int("ATTN_CANCEL_GRACE", 0)
                                                                          or CANCEL_GRACE_SECONDS)
        self._context = workers.mp_context()
        self._want_events = events
        self._events = None  # made with the first worker: a command answered from the cache starts no process
        self._lock = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running: dict[str, _Job] = {}
        self._closed = False
        self.store.mark_interrupted()  # what a process that is gone left behind can be resubmitted
        # Workers are started from this thread only: where they are spawned, Linux kills them when
        # the thread that started them ends (PR_SET_PDEATHSIG), and this thread lives as long as the
        # runner; forked from the fork server, they die with it, and it with this process.
        self._thread = threading.Thread(target=self._dispatch, name="attn-job-dispatcher", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    # -- the interface

    def submit(self, cfg: RunConfig, session: str | None = None, name: str | None = None,
               cache: bool = True) -> str:
        """Queue a run -> its id. A finished identical run (cache) or a queued one is returned as is;
        cache=False trains it again even when a finished one is stored."""
        return self.submit_many([cfg], session=session, names=None if name is None else [name], cache=cache)[0]

    def submit_many(self, configs: Sequence[RunConfig], session: str | None = None,
                    names: Sequence[str | None] | None = None, cache: bool = True) -> list[str]:
        """Queue the runs of one request (a click, a command) -> their ids, in the order of `configs`.

        All or none: every config is checked first, then the new runs are created in ONE store
        transaction and queued together, so a caller interrupted midway leaves no half of a demo.
        A run answered from the cache (unless cache=False) or already queued or training here is
        returned as is, and identical configs in the list share one run.
        """
        configs = list(configs)
        names = [None] * len(configs) if names is None else list(names)
        if len(names) != len(configs):
            raise JobError(f"submit_many got {len(configs)} configs and {len(names)} names; give one name per "
                           "config (None for the default) or no names")
        checked = []
        for cfg in configs:
            if not isinstance(cfg, RunConfig):
                raise JobError(f"submit takes a RunConfig, got {type(cfg).__name__}")
            checked.append(RunConfig.from_dict(cfg.to_dict()))  # re-checked against the limits in force now
        keys = [(cfg.key(), cfg.seed) for cfg in checked]
        ids = [self.store.find_cached(cfg) if cache else None for cfg in checked]
        with self._lock:
            if self._closed:
                raise JobError("the job runner has been shut down; no new runs are accepted")
            jobs = [*self._queue, *self._running.values()]
            # two visitors asking for the same run share one training (not one that has ended: a worker
            # that has stored its result may not have been reaped yet, and cache=False wants a new run)
            wanted = {key for i, key in enumerate(keys) if ids[i] is None}
            shared = {job.key: job.run_id for job in jobs if job.key in wanted and job.cancel_at is None
                      and (job.process is None or self.store.status(job.run_id) in ACTIVE)}
            new: dict[tuple, int] = {}  # key -> index of the first config that creates it
            for i, key in enumerate(keys):
                if ids[i] is None and key not in shared and key not in new:
                    new[key] = i
            if session is not None and new:
                mine = sum(job.session == session for job in jobs)
                if mine + len(new) > self.max_queued:
                    raise JobError(f"you already have {mine} runs queued or training and asked for {len(new)} "
                                   f"more; one visitor may have at most {self.max_queued} at once "
                                   f"(ATTN_MAX_QUEUED={self.max_queued}); wait for one to finish or cancel one")
            created = self.store.create_runs([checked[i] for i in new.values()],
                                             names=[names[i] for i in new.values()],
                                             session=session, status="queued") if new else []
            for key, run_id in zip(new, created):
                shared[key] = run_id
                self._queue.append(_Job(run_id, session, key))
            self._lock.notify_all()
        return [run_id if run_id is not None else shared[key] for run_id, key in zip(ids, keys)]

    def resubmit(self, run_id: str, session: str | None = None, name: str | None = None) -> str:
        """Train a stored run's config again (an interrupted or failed run) -> the new run's id."""
        return self.submit(self.store.config(run_id), session=session, name=name or self.store.run(run_id).name)

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

    def progress(self, run_id: str) -> "RunRecord":
        """The run's record: status, step of total_steps, epoch, eta and tokens/s as the worker last wrote
        them (<= 1 s old)."""
        return self.store.progress(run_id)

    def active(self) -> list[str]:
        """This runner's training runs, then its queued ones in the order they will start."""
        with self._lock:
            return [*self._running, *(job.run_id for job in self._queue)]

    def wait(self, run_id: str, timeout: float | None = None) -> str:
        """Block until `run_id` has finished (or `timeout` seconds passed) -> its status."""
        return self.wait_many([run_id], timeout=timeout)[run_id]

    def wait_many(self, run_ids: Sequence[str], on_event: EventHandler | None = None,
                  timeout: float | None = None) -> dict[str, str]:
        """Block until every run has finished (or `timeout` seconds passed) -> {run id: status}.

        With `events=True`, `on_event(run_id, event)` gets the workers' training events meanwhile,
        in this thread; the events still in flight when the last run ends are delivered too.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = list(dict.fromkeys(run_ids))
        while pending and (deadline is None or time.monotonic() < deadline):
            pending = [run_id for run_id in pending if self.store.status(run_id) not in FINISHED]
            if pending:
                self._relay(on_event, wait=0.05)
        self._relay(on_event, wait=0.0)
        return {run_id: self.store.status(run_id) for run_id in run_ids}

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
        self._stop_jobs(running)
        for job in queued + running:
            try:
                if self.store.status(job.run_id) in ACTIVE:
                    self.store.set_status(job.run_id, "interrupted", error="the process that queued this run "
                                          "stopped before it finished; resubmit it to train it again")
            except Exception as exc:  # a store gone with the server must not hide the other runs
                print(f"attn.runs.runner: could not mark run {job.run_id} interrupted: {exc}", file=sys.stderr)
        if self._thread is not threading.current_thread():
            self._thread.join(5)
        if self._events is not None:
            self._events.close()
        atexit.unregister(self.shutdown)

    def _stop_jobs(self, running: list[_Job]) -> None:
        """Shutdown's end of the training jobs: kill each worker process (another executor stops its own)."""
        for job in running:
            job.process.kill()
        for job in running:
            job.process.join(5)

    # -- events from the workers

    def _relay(self, on_event: EventHandler | None, wait: float) -> None:
        """Hand the events that have arrived to `on_event`, waiting up to `wait` s for the first."""
        if self._events is None:
            time.sleep(wait)
            return
        try:
            item = self._events.get(timeout=wait) if wait > 0 else self._events.get_nowait()
            while True:
                if on_event is not None:
                    on_event(*item)
                item = self._events.get_nowait()
        except queue.Empty:
            pass

    # -- the dispatcher thread

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                try:
                    self._reap()
                    self._drop_cancelled()
                    self._start_queued()
                except Exception:  # the dispatcher must outlive a store hiccup
                    traceback.print_exc()
                self._lock.wait(self.poll_seconds)

    def _drop_cancelled(self) -> None:
        """Queued runs cancelled through the store by another process end now, not when they would start."""
        for job in list(self._queue):
            try:
                cancelled = self.store.cancel_requested(job.run_id)
            except StoreError:  # deleted while it waited: nothing left to train or to record
                self._queue.remove(job)
                continue
            if cancelled:
                self._queue.remove(job)
                self.store.set_status(job.run_id, "cancelled", error="cancelled before it started")

    def _start_queued(self) -> None:
        while self._queue and len(self._running) < self.max_jobs:
            job = self._queue.popleft()
            if self._want_events and self._events is None:
                self._events = self._context.Queue()
            job.process = self._context.Process(
                target=workers.work, name=f"attn-run-{job.run_id}", daemon=True,
                args=(str(self.store.home), job.run_id, workers.threads_per_job(self.max_jobs), process_token(),
                      self.nice, self.store.flush_seconds, self._events))
            try:
                workers.start(job.process)
            except Exception as exc:  # a run that cannot start must not stay "queued" for ever
                self.store.set_status(job.run_id, "failed", error=f"the worker process could not start: {exc}")
                continue
            self._running[job.run_id] = job

    def _reap(self) -> None:
        for run_id, job in list(self._running.items()):
            process = job.process
            if process.exitcode is None:
                if job.cancel_at is not None and time.monotonic() - job.cancel_at > self.cancel_grace:
                    process.kill()  # stuck outside the training loop (loading data, evaluating)
                elif job.cancel_at is None and self.store.cancel_requested(run_id):
                    job.cancel_at = time.monotonic()  # asked through the store by another process
                continue
            process.join()
            del self._running[run_id]
            if self.store.status(run_id) not in ACTIVE:
                continue  # the worker recorded how it ended
            if job.cancel_at is not None:
                self.store.set_status(run_id, "cancelled", error=f"stopped by request (killed: it had not "
                                      f"stopped itself {self.cancel_grace:g} s after the request)")
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
