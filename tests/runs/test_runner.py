"""The job runner: training in worker processes, cancel, crashes, limits, a killed server."""
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from attn.config import PRESETS, ConfigError, RunConfig
from attn.runs.runner import JobError, JobRunner
from attn.runs.store import RunStore, process_alive

TINY = PRESETS["tiny"]
# Long enough (20 000 steps, about a minute alone; tiny's 300 pairs x 200 epochs took 6.6 s once the
# GRU ran in C) never to finish inside a test: it is cancelled or killed while it trains.
LONG = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, n_train=3000),
                           train=dataclasses.replace(TINY.train, epochs=200))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return RunStore()


@pytest.fixture
def runner(store):
    runner = JobRunner(store, max_jobs=2)
    yield runner
    runner.shutdown()


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _training(store, run_id, timeout=30.0) -> dict:
    """Wait until the worker of `run_id` has written some steps -> its run row."""
    def started():
        row = store.run(run_id)
        return row if row["status"] == "running" and (row["step"] or 0) >= 4 else None
    return _until(started, timeout, f"run {run_id} to train")


def test_two_jobs_train_at_the_same_time(runner, store):
    first, second = runner.submit(LONG), runner.submit(LONG.with_variant("dot"))
    assert set(runner.active()) == {first, second}
    _training(store, first), _training(store, second)
    assert store.status(first) == "running" and store.status(second) == "running"
    runner.cancel(first), runner.cancel(second)
    _until(lambda: {store.status(first), store.status(second)} == {"cancelled"}, 10.0, "both to stop")


def test_finished_runs_are_stored_and_a_repeat_is_a_cache_hit(runner, store):
    first, second = runner.submit(TINY), runner.submit(TINY.with_variant("dot"), name="dot run")
    assert runner.wait(first, 60) == "done" and runner.wait(second, 60) == "done"
    a, b = store.run(first), store.run(second)
    assert b["name"] == "dot run" and a["pid"] != b["pid"] != os.getpid()
    assert len(store.buckets([first, second])) == 10 and len(store.curves(first, "epoch")) == 2
    assert store.load_model(first)[3] == TINY

    start = time.perf_counter()
    assert runner.submit(TINY) == first  # from the store, without training
    assert time.perf_counter() - start < 0.5
    _until(lambda: runner.active() == [], 5.0, "the workers to exit")


def test_cancel_stops_a_training_run_within_two_seconds_and_keeps_its_curves(runner, store):
    run_id = runner.submit(LONG)
    _training(store, run_id)
    asked = time.monotonic()
    runner.cancel(run_id)
    _until(lambda: store.status(run_id) == "cancelled", 2.0, "the run to be cancelled")
    assert time.monotonic() - asked < 2.0
    assert len(store.curves(run_id)) >= 2 and store.run(run_id)["error"] == "stopped by request"
    _until(lambda: runner.active() == [], 2.0, "the worker to exit")


def test_a_killed_worker_leaves_its_run_interrupted_and_the_store_intact(runner, store):
    done, run_id = runner.submit(TINY.with_variant("none")), runner.submit(LONG)
    assert runner.wait(done, 60) == "done"
    row = _training(store, run_id)
    os.kill(row["pid"], signal.SIGKILL)
    _until(lambda: store.status(run_id) in ("interrupted", "failed"), 5.0, "the runner to notice")
    assert "SIGKILL" in store.run(run_id)["error"]
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
    assert runner.wait(run_id, 60) == "failed"
    assert "file not found" in store.run(run_id)["error"]


def test_an_uploaded_corpus_trains_from_the_store(runner, store):
    words = [f"{a}{b}{c}" for a in "abcdef" for b in "ghijk" for c in "lmnop"]
    tsv = "".join(f"{' '.join(w)}\t{' '.join(reversed(w))}\n" for w in words).encode()
    spec, sha = store.store_corpus({"my corpus.tsv": tsv})
    cfg = RunConfig(data=dataclasses.replace(TINY.data, task="corpus", corpus=spec, corpus_sha256=sha),
                    model=TINY.model, train=TINY.train)
    run_id = runner.submit(cfg)
    assert runner.wait(run_id, 60) == "done", store.run(run_id)["error"]
    assert store.run(run_id)["task"] == "my corpus.tsv" and store.config(run_id).data.corpus_sha256 == sha


SERVER = textwrap.dedent("""
    import sys, time
    from attn.config import RunConfig
    from attn.runs.runner import JobRunner
    from attn.runs.store import RunStore
    import json
    if __name__ == "__main__":
        runner = JobRunner(RunStore(sys.argv[1]), max_jobs=1)
        print(runner.submit(RunConfig.from_dict(json.loads(sys.argv[2]))), flush=True)
        time.sleep(120)
""")


def test_a_server_killed_during_training_leaves_the_run_interrupted_and_resubmittable(store):
    import json
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(store.home), json.dumps(LONG.to_dict())],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        run_id = server.stdout.readline().strip()
        worker = _training(store, run_id)["worker"]
    finally:
        server.kill()  # SIGKILL: no handler runs, nothing is cleaned up
        server.wait(10)
    _until(lambda: not process_alive(worker), 5.0, "the worker to die with its server")
    # The worker either saw its runner gone (and said so) or was killed first, leaving "running".
    assert store.status(run_id) in ("running", "interrupted")

    runner = JobRunner(RunStore(store.home), max_jobs=1)  # the next server start
    try:
        assert store.status(run_id) == "interrupted" and store.integrity_check() == "ok"
        assert len(store.curves(run_id)) >= 2
        again = runner.resubmit(run_id)
        assert again != run_id and store.run(again)["config_key"] == store.run(run_id)["config_key"]
        runner.cancel(again)
    finally:
        runner.shutdown()


def test_a_worker_never_runs_the_callers_main_script(store, tmp_path, monkeypatch):
    # Streamlit's ScriptRunner puts the page being run in sys.modules["__main__"]; multiprocessing
    # would re-run that file in every new process. Here it is a script that leaves a mark.
    import types
    from attn.runs.workers import run_many
    marker = tmp_path / "the page ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    runner = JobRunner(store, max_jobs=1)
    try:
        run_id = runner.submit(TINY)
        assert runner.wait(run_id, timeout=120) == "done"
    finally:
        runner.shutdown()
    results = run_many([TINY.with_variant("none"), TINY.with_variant("dot")], jobs=2)
    assert [r.config.model.variant for r in results] == ["none", "dot"]
    assert not marker.exists()
