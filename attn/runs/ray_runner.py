"""The Ray executor of the one runner: each run is a Ray task, and this process alone writes the store.

JobRunner's queue, run cache, shared identical requests, per-visitor limit and cancel-through-the-store
are kept as they are (RayRunner subclasses it); only how a job starts, ends and is cancelled changes:

    server (this process)                              a Ray worker, anywhere in the cluster
    ---------------------                              -------------------------------------
    dispatcher: train_remote.remote(cfg)  ─────────▶   ("hello", code version, node, pid)
    one consumer thread per run:          ◀─────────   ("events", [TrainEvent, ...])   as training goes
      store.recorder(run_id)(event)                    ...
      store.save_result(run_id, result)   ◀─────────   ("result", bytes)  weights (torch.save) + the rest
    cancel: ray.cancel(ref)                ─────────▶   KeyboardInterrupt -> cooperative stop of training

The worker never sees the store (no shared file system, and Ray never touches SQLite); the events and the
result go through the very same `store.recorder` / `store.save_result` path a local worker uses
(`attn.runs.workers.work`), so a new event kind needs no Ray-specific code. Each task asks for one CPU
and trains with one torch thread, so the same run on the same CPU type gives the same bits as a local
single-thread worker. Tasks are never retried (max_retries=0): a worker or node that dies leaves its run
`interrupted`, to be trained again by a person, not replayed behind their back.

The messages travel as a streaming task's objects, except through Ray Client (ray://), which cannot read
a streaming task: there `train_to_mailbox` puts the same messages into a queue actor of the run's own,
which the consumer reads (`_Task.messages`), so both paths feed the same consumer.

Only this module and attn.runs.ray_cluster (joining the cluster) import ray, and only
`attn.runs.executors.make_runner` imports them (ATTN_EXECUTOR=ray).
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import os
import pickle
import queue
import socket
import threading
import time
import traceback

import ray
import ray.exceptions

from attn.config import RunConfig, env_int
from attn.runs.ray_cluster import client_mode, connect
from attn.runs.runner import JobRunner, _Job
from attn.runs.store import RunStore
from attn.runs.version import code_version

STOP_JOIN_SECONDS = 60.0       # a cancelled task waits this long for its training thread (one batch)
BATCH_SECONDS = 0.25           # a task sends its events at most this often (the pages redraw once a second)
MAILBOX_POLL_SECONDS = 0.5     # Ray Client: how long one read of a run's mailbox waits before checking its task
SHUTDOWN_MESSAGE = "the process that queued this run stopped before it finished; resubmit it to train it again"


# ------------------------------------------------------------------------------ the Ray worker's side

@dataclasses.dataclass
class _Weights:
    """A finished run's model as it reaches the server: its state_dict (all `save_result` reads of it)."""
    state: dict

    def state_dict(self) -> dict:
        return self.state


def pack_result(result) -> bytes:
    """A RunResult -> bytes: the weights by torch.save (loaded back with weights_only=True), the rest pickled."""
    import torch
    weights = io.BytesIO()
    torch.save(result.model.state_dict(), weights)
    return pickle.dumps({"weights": weights.getvalue(), "result": dataclasses.replace(result, model=None)})


def unpack_result(payload: bytes):
    """`pack_result`'s bytes -> the RunResult, its model a _Weights (state_dict tensors, bit for bit)."""
    import torch
    parts = pickle.loads(payload)
    state = torch.load(io.BytesIO(parts["weights"]), weights_only=True)
    return dataclasses.replace(parts["result"], model=_Weights(state))


def train_messages(cfg: RunConfig, threads: int = 1):
    """One run on a Ray worker: yields ("hello", info), then ("events", [TrainEvent, ...]) as training goes,
    then ("result", pack_result bytes). Training runs in a thread of this task, so the events are yielded
    while it trains; a cancel (KeyboardInterrupt here), or closing this generator, asks it to stop at the
    next batch and waits for it."""
    import torch
    from attn.training.experiment import run
    torch.set_num_threads(threads)
    yield "hello", {"code_version": code_version(), "node": socket.gethostname(), "pid": os.getpid()}
    out: queue.SimpleQueue = queue.SimpleQueue()  # TrainEvents, then ("result", bytes) or ("error", exc)
    stop = threading.Event()

    def train() -> None:
        try:
            out.put(("result", pack_result(run(cfg, callbacks=[out.put], should_stop=stop.is_set))))
        except BaseException as exc:  # handed to the task's thread, which raises it for the server
            out.put(("error", exc))

    trainer = threading.Thread(target=train, name="attn-ray-train", daemon=True)
    trainer.start()
    try:
        while True:
            try:
                items = [out.get(timeout=0.2)]  # a timeout, so a cancel's KeyboardInterrupt is seen at once
            except queue.Empty:
                continue
            # What comes within BATCH_SECONDS goes as one object: a yield costs a few ms of the worker's time
            # (and the GIL the training thread needs), and fast runs emit an event per step. The result and
            # an error go at once.
            send_by = time.monotonic() + BATCH_SECONDS
            while not isinstance(items[-1], tuple):
                try:
                    items.append(out.get(timeout=max(0.0, send_by - time.monotonic())))
                except queue.Empty:
                    break
            events = [item for item in items if not isinstance(item, tuple)]
            if events:
                yield "events", events
            for item in items:
                if isinstance(item, tuple) and item[0] == "result":
                    yield item
                    return
                if isinstance(item, tuple):
                    raise item[1]
    finally:
        stop.set()  # a cancel, or the server gone: the trainer stops within a batch (curves already sent)
        trainer.join(STOP_JOIN_SECONDS)  # Ray reuses this worker: leave no training behind


@ray.remote(num_returns="streaming", num_cpus=1, max_retries=0)
def train_remote(cfg: RunConfig, threads: int = 1):
    """`train_messages` as a streaming Ray task: each message an object the server reads as it comes."""
    yield from train_messages(cfg, threads)


@ray.remote(num_cpus=1, max_retries=0)
def train_to_mailbox(cfg: RunConfig, threads: int, mailbox) -> None:
    """`train_messages` put into `mailbox` (a ray.util.queue.Queue): for a server on Ray Client (ray://), which
    cannot read streaming tasks. The task's own return says how it ended (an error, a cancel)."""
    messages = train_messages(cfg, threads)
    try:
        for message in messages:
            mailbox.put(message)
    finally:
        messages.close()  # a cancel: the generator's `finally` stops the training thread


@ray.remote(num_cpus=1, max_retries=0)
def warm_worker() -> int:
    """Import what a run needs (torch, the trainer) in a Ray worker -> its pid. The runner starts one per job
    slot when it starts, as the local runner's forkserver preloads them: the first runs do not pay it."""
    for module in ("torch", "attn.training.experiment"):
        importlib.import_module(module)
    return os.getpid()


# -------------------------------------------------------------------------------- the server's side

@dataclasses.dataclass
class _Task:
    """A run's Ray task as the runner holds it (in `_Job.process`)."""
    stream: object                           # the task's ObjectRefGenerator, or its ObjectRef with a mailbox
    consumer: threading.Thread | None = None
    cancel_sent: bool = False
    forced: bool = False
    info: dict = dataclasses.field(default_factory=dict)  # the "hello": code version, node, pid
    mailbox: object = None                   # Ray Client: the ray.util.queue.Queue the task puts its messages in

    def messages(self):
        """(kind, payload) as the task sends them, from its stream or its mailbox; then whatever ended the
        task is raised (a cancel, the training's error, a worker or node gone), as the stream raises it."""
        if self.mailbox is None:
            for ref in self.stream:
                yield ray.get(ref)
            return
        from ray.util.queue import Empty
        while True:
            try:
                yield self.mailbox.get(timeout=MAILBOX_POLL_SECONDS)
                continue
            except Empty:
                pass
            if ray.wait([self.stream], timeout=0)[0]:  # ended: its puts returned, so all it sent is in the box
                yield from self.mailbox.get_nowait_batch(self.mailbox.qsize())
                ray.get(self.stream)
                return


class _Events(queue.SimpleQueue):
    """(run id, TrainEvent) for `wait_many`, like the local runner's multiprocessing queue."""

    def close(self) -> None:
        pass


class RayRunner(JobRunner):
    """JobRunner's interface and rules, with each run trained as a Ray task (see the module docstring).

    address:  ATTN_RAY_ADDRESS's value: ray://HOST:10001, HOST:6379, auto, or None for a local Ray
    max_jobs: tasks in flight at once (default: $ATTN_MAX_JOBS, else the cluster's CPUs at start)
    threads:  torch threads per run (1: the same bits as a local single-thread worker)
    nice is not applied: Ray's workers belong to the cluster, which decides where and how they run.
    """

    def __init__(self, store: RunStore | None = None, max_jobs: int | None = None, max_queued: int | None = None,
                 poll_seconds: float = 0.1, *, address: str | None = None, threads: int = 1, nice: int = 10,
                 events: bool = False, cancel_grace: float | None = None):
        self._owns_ray = connect(address)
        self.threads, self.address = threads, address
        self.mailboxes = client_mode()  # Ray Client (ray://): messages through a queue actor, not a stream
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        super().__init__(store, max_jobs=max_jobs or env_int("ATTN_MAX_JOBS", max(1, cluster_cpus)),
                         max_queued=max_queued, poll_seconds=poll_seconds, nice=nice, events=events,
                         cancel_grace=cancel_grace)
        self._events = _Events() if events else None
        self._warming = [warm_worker.remote() for _ in range(self.max_jobs)]  # never waited for unless asked

    def warm(self, timeout: float | None = None) -> list[int]:
        """Wait until the workers started with the runner have imported torch and the trainer -> their pids."""
        return ray.get(self._warming, timeout=timeout)

    def shutdown(self) -> None:
        super().shutdown()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()

    # -- the dispatcher's hooks (called with self._lock held)

    def _start_queued(self) -> None:
        while self._queue and len(self._running) < self.max_jobs:
            job = self._queue.popleft()
            name, cfg = f"attn-run-{job.run_id}", self.store.config(job.run_id)
            try:
                if self.mailboxes:  # Ray Client reads no streaming task: the messages go through a queue actor
                    from ray.util.queue import Queue
                    mailbox = Queue(actor_options={"num_cpus": 0})  # no CPU: it must start while all train
                    task = _Task(train_to_mailbox.options(name=name).remote(cfg, self.threads, mailbox),
                                 mailbox=mailbox)
                else:
                    task = _Task(train_remote.options(name=name).remote(cfg, self.threads))
            except Exception as exc:  # a run that cannot start must not stay "queued" for ever
                self.store.set_status(job.run_id, "failed", error=f"the Ray task could not start: {exc}")
                continue
            job.process = task
            task.consumer = threading.Thread(target=self._consume, args=(job,), name=f"attn-ray-{job.run_id}",
                                             daemon=True)
            task.consumer.start()
            self._running[job.run_id] = job

    def _reap(self) -> None:
        for run_id, job in list(self._running.items()):
            task: _Task = job.process
            if not task.consumer.is_alive():
                del self._running[run_id]  # the consumer recorded how the run ended
                continue
            if job.cancel_at is None and self.store.cancel_requested(run_id):
                job.cancel_at = time.monotonic()  # asked through the store by another process
            if job.cancel_at is not None and not task.cancel_sent:
                task.cancel_sent = True
                _cancel(task, force=False)  # KeyboardInterrupt in the task: it stops its training itself
            elif job.cancel_at is not None and not task.forced and time.monotonic() - job.cancel_at > self.cancel_grace:
                task.forced = True
                _cancel(task, force=True)  # stuck outside the training loop (loading data, evaluating)

    def _stop_jobs(self, running: list[_Job]) -> None:
        for job in running:
            _cancel(job.process, force=True)
        for job in running:
            job.process.consumer.join(5)

    # -- one consumer thread per run: the stream in, the store written

    def _consume(self, job: _Job) -> None:
        run_id, task = job.run_id, job.process
        record = self.store.recorder(run_id)
        try:
            result = None
            for kind, payload in task.messages():
                if kind == "hello":
                    task.info = payload
                    self._check_version(run_id, payload)
                    self.store.set_status(run_id, "running")  # pid None: the owner (this process) vouches for it
                elif kind == "events":
                    for event in payload:
                        record(event)
                        if self._events is not None:
                            self._events.put((run_id, event))
                elif kind == "result":
                    result = unpack_result(payload)
            if self._closed:
                self._end(run_id, "interrupted", SHUTDOWN_MESSAGE)
            elif job.cancel_at is not None or self.store.cancel_requested(run_id) or result is None:
                self._end(run_id, "cancelled", "stopped by request")
            else:
                self.store.save_result(run_id, result)
        except Exception as exc:
            self._ended_by(job, exc)
        finally:
            if task.mailbox is not None:
                with contextlib.suppress(Exception):  # the queue actor: gone with its node, or with Ray
                    task.mailbox.shutdown()
            with self._lock:
                self._lock.notify_all()

    def _check_version(self, run_id: str, info: dict) -> None:
        if info.get("code_version") != code_version():
            raise _Mismatch(f"the Ray worker on {info.get('node')} runs attn code version {info.get('code_version')}, "
                            f"this server {code_version()}: install the same attn on every node (docs/ray.md), so "
                            "that a run means the same everywhere")

    def _ended_by(self, job: _Job, exc: Exception) -> None:
        """How a run whose stream raised ends: cancelled, interrupted (a worker or node gone) or failed."""
        run_id, where = job.run_id, job.process.info.get("node", "a Ray worker")
        if isinstance(exc, _Mismatch):
            _cancel(job.process, force=True)
            self._end(run_id, "failed", str(exc))
        elif self._closed:
            self._end(run_id, "interrupted", SHUTDOWN_MESSAGE)
        elif job.cancel_at is not None or isinstance(exc, ray.exceptions.TaskCancelledError):
            self._end(run_id, "cancelled", "stopped by request" + (f" (killed: it had not stopped itself "
                      f"{self.cancel_grace:g} s after the request)" if job.process.forced else ""))
        elif isinstance(exc, ray.exceptions.RayTaskError):  # the training itself raised
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            self._end(run_id, "failed", f"{type(cause).__name__}: {cause}")
        elif isinstance(exc, ray.exceptions.RayError):  # worker crashed, node died, object lost, ...
            self._end(run_id, "interrupted", f"the Ray worker training it on {where} died ({type(exc).__name__}); "
                                             "resubmit the run to train it again")
        else:
            traceback.print_exc()
            self._end(run_id, "failed", f"{type(exc).__name__}: {exc}")

    def _end(self, run_id: str, status: str, reason: str) -> None:
        try:
            self.store.flush(run_id)  # the curves so far are kept
        finally:
            self.store.set_status(run_id, status, error=reason)


class _Mismatch(RuntimeError):
    """A worker whose attn is not this server's: its runs would not be the ones the cache promises."""


def _cancel(task: _Task, force: bool) -> None:
    try:
        ray.cancel(task.stream, force=force)
    except Exception:  # already finished, or Ray gone with the server: nothing left to stop
        pass
