"""The job runner: training in worker processes, the cache, shared jobs, cancel, crashes, limits, a killed server.

No test times a behaviour: each waits for the event itself, with a timeout (HANG) that only keeps a
broken runner from hanging the suite.
"""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from attn.config import PRESETS, ConfigError, RunConfig
from attn.runs.runner import JobError, JobRunner
from attn.runs.store import RunStore, process_alive
from attn.runs.workers import threads_per_job
from tests.waiting import wait_until

HANG = 600.0  # seconds: longer than anything here takes on a loaded 2-core machine; only a hang reaches it
TINY = PRESETS["tiny"]
# Long enough (20 000 steps, about a minute alone) never to finish inside a test: it is cancelled or
# killed while it trains.
LONG = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, n_train=3000),
                           train=dataclasses.replace(TINY.train, epochs=200))
# One epoch of 1 500 one-pair steps (seconds alone): no epoch event, which would write the curves, before
# it is cancelled.
ONE_LONG_EPOCH = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, n_train=1500),
                                     train=dataclasses.replace(TINY.train, epochs=1, batch=1))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return RunStore()


@pytest.fixture
def runner(store):
    runner = JobRunner(store, max_jobs=2)
    yield runner
    runner.shutdown()


def _until(predicate, what: str, timeout: float = HANG):
    return wait_until(predicate, what, timeout, poll=0.05)


def _training(store, run_id):
    """Wait until the worker of `run_id` has written some steps -> its record."""
    def started():
        row = store.run(run_id)
        return row if row.status == "running" and (row.step or 0) >= 4 else None
    return _until(started, f"run {run_id} to train")


def _results(store, run_id) -> dict:
    """What a run computed, without its timings: weights, bucket rows, loss curves, test decodes."""
    model = store.load_model(run_id)[0]
    curves = {kind: _rows(store.curves(run_id, kind)[["step", "epoch", "train_loss", "valid_loss"]].values.tolist())
              for kind in ("step", "epoch")}
    longest = (store.run(run_id).overall or {}).get("train_max_len")  # `unseen` follows from it
    buckets = [row.past_training(None if longest is None else int(longest)) for row in store.bucket_rows(run_id)]
    return {"weights": model.state_dict(), "buckets": buckets, "curves": curves,
            "hyps": [d.hyp for d in store.decodes(run_id)]}


def _rows(rows) -> list[list]:
    """Curve rows with NaN (a value the row does not have) as None, so that equal rows compare equal."""
    return [[None if v is None or v != v else v for v in row] for row in rows]


def _assert_same_results(a: dict, b: dict) -> None:
    assert a["weights"].keys() == b["weights"].keys()
    assert all(torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"]), "weights differ"
    assert a["buckets"] == b["buckets"] and a["curves"] == b["curves"]
    assert a["hyps"] == b["hyps"]


def test_two_jobs_train_at_the_same_time(runner, store):
    first, second = runner.submit(LONG), runner.submit(LONG.with_variant("dot"))
    assert set(runner.active()) == {first, second}
    _training(store, first), _training(store, second)
    assert store.status(first) == "running" and store.status(second) == "running"
    runner.cancel(first), runner.cancel(second)
    _until(lambda: {store.status(first), store.status(second)} == {"cancelled"}, "both to stop")


def test_finished_runs_are_stored_and_a_repeat_is_a_cache_hit(runner, store):
    first, second = runner.submit(TINY), runner.submit(TINY.with_variant("dot"), name="dot run")
    assert runner.wait_many([first, second], timeout=HANG) == {first: "done", second: "done"}
    a, b = store.run(first), store.run(second)
    assert b.name == "dot run" and a.pid != b.pid != os.getpid()
    assert len(store.buckets([first, second])) == 10 and len(store.curves(first, "epoch")) == 2
    assert store.load_model(first)[3] == TINY
    _until(lambda: runner.active() == [], "the workers to exit")

    assert runner.submit(TINY) == first  # from the store: no new run, no job
    assert runner.active() == [] and len(store.runs()) == 2


def test_a_run_trained_in_a_worker_equals_the_same_run_trained_in_process(runner, store):
    from attn.training.experiment import run
    cfg = TINY.with_variant("additive")
    run_id = runner.submit(cfg)
    assert runner.wait(run_id, HANG) == "done"
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_per_job(runner.max_jobs))  # what the worker had
    try:
        here = run(cfg)
    finally:
        torch.set_num_threads(threads)
    curves = {kind: _rows([[r["step"], r["epoch"], r["train_loss"], r["valid_loss"]] for r in rows])
              for kind, rows in (("step", here.training.steps), ("epoch", here.training.epochs))}
    in_process = {"weights": here.model.state_dict(), "buckets": here.buckets, "curves": curves,
                  "hyps": [d.hyp for d in here.decodes]}
    _assert_same_results(_results(store, run_id), in_process)
    overall = store.run(run_id).overall
    assert overall == {**{k: None if v is None or v != v else v for k, v in here.overall.items()}, **here.signatures}


def test_a_run_from_the_cache_equals_a_retrain_and_another_config_is_no_hit(runner, store):
    a = TINY.with_variant("dot")
    b = dataclasses.replace(a, train=dataclasses.replace(a.train, lr=a.train.lr / 2))  # differs in lr only
    first = runner.submit_many([a, b])
    assert len(set(first)) == 2 and set(runner.wait_many(first, timeout=HANG).values()) == {"done"}
    cached = runner.submit_many([a, b])
    assert cached == first and len(store.runs()) == 2  # answered from the store
    assert [store.config(run_id) for run_id in cached] == [a, b]
    again = runner.submit_many([a, b], cache=False)  # --retrain
    assert not set(again) & set(first) and set(runner.wait_many(again, timeout=HANG).values()) == {"done"}
    for old, new in zip(cached, again):
        _assert_same_results(_results(store, old), _results(store, new))


def test_identical_requests_in_flight_share_one_job(runner, store):
    first = runner.submit(LONG)
    assert runner.submit(LONG) == first
    ids = runner.submit_many([LONG, LONG.with_variant("dot"), LONG.with_variant("dot")])
    assert ids[0] == first and ids[1] == ids[2] != first
    assert sorted(runner.active()) == sorted({first, ids[1]}) and len(store.runs()) == 2
    _training(store, first)
    runner.cancel(first)  # a job being cancelled is not shared: the same request trains anew
    again = runner.submit(LONG)
    assert again not in (first, ids[1])
    for run_id in (ids[1], again):
        runner.cancel(run_id)
    assert set(runner.wait_many([first, ids[1], again], timeout=HANG).values()) == {"cancelled"}


def test_a_cancelled_run_stops_itself_within_a_batch_and_keeps_its_curves(tmp_path):
    # Step rows are written only by the worker's own flush (none due for an hour, no epoch ends), and
    # the runner would kill the worker only after HANG: the run must stop itself and save its curves.
    store = RunStore(tmp_path, flush_seconds=3600)
    runner = JobRunner(store, max_jobs=1, events=True, cancel_grace=HANG)
    steps: list[int] = []
    on_event = lambda run_id, event: steps.append(event.step) if event.kind == "step" else None  # noqa: E731
    try:
        run_id = runner.submit(ONE_LONG_EPOCH)
        _until(lambda: runner.wait_many([run_id], on_event, timeout=0.05) and len(steps) >= 4, "steps")
        assert store.curves(run_id).empty  # nothing written yet: what follows is the worker's flush on cancel
        runner.cancel(run_id)
        assert runner.wait_many([run_id], on_event, timeout=HANG)[run_id] == "cancelled"
        row = store.run(run_id)
        assert row.error == "stopped by request"  # recorded by the worker, not by the runner's kill
        assert row.step < row.total_steps  # it stopped, rather than training to the end
        curves = store.curves(run_id)
        assert curves["step"].max() >= max(steps) and row.step == curves["step"].max()
        _until(lambda: runner.active() == [], "the worker to exit")
    finally:
        runner.shutdown()


def test_a_queued_run_cancelled_through_the_store_by_another_process_ends_without_starting(store):
    runner = JobRunner(store, max_jobs=1)
    try:
        first, queued = runner.submit(LONG), runner.submit(LONG.with_variant("dot"))
        _training(store, first)
        assert store.status(queued) == "queued"
        subprocess.run([sys.executable, "-c", "import sys; from attn.runs.store import RunStore; "
                        "RunStore(sys.argv[1]).request_cancel(sys.argv[2])", str(store.home), queued], check=True)
        _until(lambda: store.status(queued) == "cancelled", "the queued run to be cancelled")
        assert store.status(first) == "running"  # it did not wait for a free worker
        row = store.run(queued)
        assert row.started is None and row.pid is None and row.error == "cancelled before it started"
        assert runner.active() == [first]
        runner.cancel(first)
    finally:
        runner.shutdown()


def test_a_killed_worker_leaves_its_run_interrupted_and_the_store_intact(runner, store):
    done, run_id = runner.submit(TINY.with_variant("none")), runner.submit(LONG)
    assert runner.wait(done, HANG) == "done"
    row = _training(store, run_id)
    os.kill(row.pid, signal.SIGKILL)
    _until(lambda: store.status(run_id) in ("interrupted", "failed"), "the runner to notice")
    assert "SIGKILL" in store.run(run_id).error
    assert store.integrity_check() == "ok"
    assert store.status(done) == "done" and len(store.buckets(done)) == 5 and store.decodes(done)


def test_a_visitor_over_the_queue_limit_is_refused_with_a_message(store):
    runner = JobRunner(store, max_jobs=1, max_queued=2)
    try:
        ids = [runner.submit(LONG.with_variant("dot", seed=s), session="alice") for s in (1, 2)]
        with pytest.raises(JobError, match="ATTN_MAX_QUEUED=2"):
            runner.submit(LONG.with_variant("dot", seed=3), session="alice")
        other = runner.submit(LONG.with_variant("dot", seed=3), session="bob")  # others still get in
        assert store.status(other) == "queued"
        runner.cancel(ids[1])  # a queued run is cancelled at once, which frees a place
        assert store.status(ids[1]) == "cancelled"
        with pytest.raises(JobError, match="asked for 2 more"):  # a click's runs: all of them, or none
            runner.submit_many([LONG.with_variant("dot", seed=s) for s in (4, 5)], session="alice")
        assert len(store.runs()) == 3
        runner.submit(LONG.with_variant("dot", seed=4), session="alice")
    finally:
        runner.shutdown()
    assert set(store.runs()["status"]) <= {"cancelled", "interrupted"}


def test_a_config_over_the_servers_limits_is_refused_before_it_is_queued(runner, store, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_EPOCHS", "1")
    with pytest.raises(ConfigError, match="train.epochs = 2"):
        runner.submit(TINY)
    with pytest.raises(JobError, match="RunConfig"):
        runner.submit(TINY.to_dict())
    assert store.runs().empty


def test_a_run_that_raises_ends_failed_with_its_error(runner, store, tmp_path):
    missing = RunConfig(data=dataclasses.replace(TINY.data, task="corpus", corpus=str(tmp_path / "missing.tsv")),
                        model=TINY.model, train=TINY.train)
    run_id = runner.submit(missing)
    assert runner.wait(run_id, HANG) == "failed"
    assert "file not found" in store.run(run_id).error


def test_an_uploaded_corpus_trains_from_the_store(runner, store):
    words = [f"{a}{b}{c}" for a in "abcdef" for b in "ghijk" for c in "lmnop"]
    tsv = "".join(f"{' '.join(w)}\t{' '.join(reversed(w))}\n" for w in words).encode()
    spec, sha = store.store_corpus({"my corpus.tsv": tsv})
    cfg = RunConfig(data=dataclasses.replace(TINY.data, task="corpus", corpus=spec, corpus_sha256=sha),
                    model=TINY.model, train=TINY.train)
    run_id = runner.submit(cfg)
    assert runner.wait(run_id, HANG) == "done", store.run(run_id).error
    assert store.run(run_id).task == "my corpus.tsv" and store.config(run_id).data.corpus_sha256 == sha


SERVER = textwrap.dedent("""
    import sys, time
    from attn.config import RunConfig
    from attn.runs.runner import JobRunner
    from attn.runs.store import RunStore
    import json
    if __name__ == "__main__":
        runner = JobRunner(RunStore(sys.argv[1]), max_jobs=1)
        print(runner.submit(RunConfig.from_dict(json.loads(sys.argv[2]))), flush=True)
        time.sleep(3600)
""")


def test_a_server_killed_during_training_leaves_the_run_interrupted_and_resubmittable(store):
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(store.home), json.dumps(LONG.to_dict())],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        run_id = server.stdout.readline().strip()
        worker = _training(store, run_id).worker
    finally:
        server.kill()  # SIGKILL: no handler runs, nothing is cleaned up
        server.wait(HANG)
    _until(lambda: not process_alive(worker), "the worker to die with its server")
    # The worker either saw its runner gone (and said so) or was killed first, leaving "running".
    assert store.status(run_id) in ("running", "interrupted")

    runner = JobRunner(RunStore(store.home), max_jobs=1)  # the next server start
    try:
        assert store.status(run_id) == "interrupted" and store.integrity_check() == "ok"
        assert len(store.curves(run_id)) >= 2
        again = runner.resubmit(run_id)
        assert again != run_id and store.run(again).config_key == store.run(run_id).config_key
        runner.cancel(again)
    finally:
        runner.shutdown()
