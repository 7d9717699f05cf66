"""The Ray executor against a REAL local Ray (one `ray.init(num_cpus=2)` for the module, no network needed):
tiny runs finish into the store, the same bits as a local worker, cancel, a killed worker, the shared rules.

No test times a behaviour: each waits for the event itself, with a timeout (HANG) that only keeps a broken
runner from hanging the suite.
"""
import dataclasses
import os
import signal

import pytest
import ray
import torch

from attn.config import PRESETS
from attn.runs.executors import make_runner
from attn.runs.ray_runner import RayRunner
from attn.runs.runner import JobError, JobRunner
from attn.runs.store import RunStore
from tests.waiting import wait_until

HANG = 600.0  # seconds: longer than anything here takes on a loaded 2-core machine; only a hang reaches it
TINY = PRESETS["tiny"]
# Long enough (thousands of steps, minutes alone) never to finish inside a test: cancelled or killed first.
LONG = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, n_train=3000),
                           train=dataclasses.replace(TINY.train, epochs=200))


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """A local 2-CPU Ray cluster in this process (RayRunner joins it instead of starting its own)."""
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return RunStore()


@pytest.fixture
def runner(store):
    runner = RayRunner(store, max_jobs=2)
    yield runner
    runner.shutdown()


def _training(store, run_id):
    """Wait until the run's stream has brought some steps into the store -> its record."""
    def started():
        row = store.run(run_id)
        return row if row.status == "running" and (row.step or 0) >= 4 else None
    return wait_until(started, f"run {run_id} to train on Ray", HANG, poll=0.05)


def _stored(store, run_id) -> dict:
    """What a run computed, without its timings: weights, curves, buckets, overall metrics, decodes."""
    curves = {kind: store.curves(run_id, kind)[["step", "epoch", "train_loss", "valid_loss"]]
              .astype(float).fillna(-1.0).values.tolist() for kind in ("step", "epoch")}
    overall = store.run(run_id).overall
    return {"weights": torch.load(store.home / "weights" / f"{run_id}.pt", weights_only=True), "curves": curves,
            "buckets": store.bucket_rows(run_id), "overall": overall, "hyps": [d.hyp for d in store.decodes(run_id)]}


def test_make_runner_on_ray_gives_a_ray_runner_that_trains_tiny_runs_into_the_store(store):
    runner = make_runner(store, executor="ray", max_jobs=2)
    try:
        assert isinstance(runner, RayRunner) and runner.max_jobs == 2
        configs = [dataclasses.replace(TINY, seed=seed) for seed in (0, 1)]
        ids = runner.submit_many(configs)
        assert runner.wait_many(ids, timeout=HANG) == {run_id: "done" for run_id in ids}
        for run_id in ids:
            record = store.run(run_id)
            assert record.bleu is not None and record.step == record.total_steps > 0
            assert not store.curves(run_id, "epoch").empty and store.bucket_rows(run_id)
        assert runner.submit_many(configs) == ids  # the run cache answers: nothing trains again
        # (a run is stored before its consumer thread ends and the dispatcher lets it go, as locally)
        wait_until(lambda: runner.active() == [], "the finished runs to leave the runner", HANG)
    finally:
        runner.shutdown()


def test_a_run_trained_on_ray_equals_the_same_run_trained_locally_to_the_bit(runner, store, tmp_path):
    ray_id = runner.submit(TINY)
    local_store = RunStore(tmp_path / "local")
    local = JobRunner(local_store, max_jobs=2)  # one torch thread per worker, as each Ray task has
    try:
        local_id = local.submit(TINY)
        assert local.wait(local_id, timeout=HANG) == "done"
    finally:
        local.shutdown()
    assert runner.wait(ray_id, timeout=HANG) == "done"
    on_ray, here = _stored(store, ray_id), _stored(local_store, local_id)
    assert on_ray["weights"].keys() == here["weights"].keys()
    for name, tensor in here["weights"].items():
        assert torch.equal(on_ray["weights"][name], tensor), f"weight {name} differs"
    assert on_ray["curves"] == here["curves"] and on_ray["curves"]["step"]
    assert on_ray["buckets"] == here["buckets"] and on_ray["overall"] == here["overall"]
    assert on_ray["hyps"] == here["hyps"]


def test_events_stream_to_wait_many_as_the_run_trains(store):
    runner = RayRunner(store, max_jobs=2, events=True)
    try:
        seen = []
        run_id = runner.submit(TINY)
        assert runner.wait_many([run_id], on_event=lambda rid, event: seen.append((rid, event.kind)),
                                timeout=HANG) == {run_id: "done"}
    finally:
        runner.shutdown()
    kinds = [kind for rid, kind in seen if rid == run_id]
    assert kinds[0] == "start" and kinds[-1] == "end" and "step" in kinds and "epoch" in kinds


def test_cancel_stops_a_training_run_and_keeps_its_curves(runner, store):
    run_id = runner.submit(LONG)
    _training(store, run_id)
    runner.cancel(run_id)
    assert runner.wait(run_id, timeout=HANG) == "cancelled"
    assert not store.curves(run_id, "step").empty  # the steps streamed before the cancel are kept
    wait_until(lambda: runner.active() == [], "the cancelled run to leave the runner", HANG)


def test_a_cancel_through_the_store_reaches_the_ray_task(runner, store):
    run_id = runner.submit(LONG)
    _training(store, run_id)
    RunStore(store.home).request_cancel(run_id)  # another server process's Cancel button
    assert runner.wait(run_id, timeout=HANG) == "cancelled"


def test_a_killed_ray_worker_leaves_the_run_interrupted_and_the_store_sound(runner, store):
    run_id = runner.submit(LONG)
    _training(store, run_id)
    with runner._lock:
        pid = runner._running[run_id].process.info["pid"]  # the worker process the task said hello from
    os.kill(pid, signal.SIGKILL)
    assert runner.wait(run_id, timeout=HANG) == "interrupted"
    record = store.run(run_id)
    assert "died" in record.error and "resubmit" in record.error
    assert not store.curves(run_id, "step").empty
    assert store.integrity_check() == "ok"
    again = runner.resubmit(run_id)  # it can be trained again
    assert again != run_id and store.status(again) in ("queued", "running")
    runner.cancel(again)
    assert runner.wait(again, timeout=HANG) == "cancelled"


def test_the_per_visitor_limit_holds_on_ray_as_locally(store):
    runner = RayRunner(store, max_jobs=1, max_queued=1)
    try:
        with pytest.raises(JobError, match="ATTN_MAX_QUEUED=1"):
            runner.submit_many([dataclasses.replace(LONG, seed=seed) for seed in (0, 1)], session="visitor")
        assert store.runs().empty  # all or none
    finally:
        runner.shutdown()


@pytest.mark.parametrize("command", [["train", "--preset", "tiny", "--variants", "none"],
                                     ["preload", "--preset", "tiny", "--variants", "none"]])
def test_train_and_preload_train_on_ray_when_attn_executor_says_so(store, monkeypatch, command):
    from attn.cli.main import main
    submitted = []
    original = RayRunner.submit_many

    def spy(self, configs, *args, **kw):
        submitted.append(len(configs))
        return original(self, configs, *args, **kw)

    monkeypatch.setattr(RayRunner, "submit_many", spy)
    monkeypatch.setenv("ATTN_EXECUTOR", "ray")
    assert main(command) == 0
    assert submitted == [1]
    runs = store.runs()
    assert list(runs["status"]) == ["done"]


def test_the_runner_warms_one_ray_worker_per_job_slot_and_runs_then_train_as_before(runner, store):
    """RayRunner starts, with itself, a task per job slot that imports torch and the trainer in a Ray worker
    (as the local runner's fork server preloads them), so the first runs do not pay for it."""
    pids = runner.warm(timeout=HANG)
    assert len(pids) == runner.max_jobs == 2 and all(isinstance(pid, int) and pid > 0 for pid in pids)
    assert all(pid != os.getpid() for pid in pids)  # Ray workers, not this process
    run_id = runner.submit(TINY)
    assert runner.wait(run_id, timeout=HANG) == "done"
