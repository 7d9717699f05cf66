"""One click's runs: created in one store transaction and queued together, or not at all."""
import pytest

from attn.config import PRESETS, RunConfig
from attn.runs.runner import JobError, JobRunner
from attn.runs.store import RunStore, StoreError

HANG = 600.0  # seconds: only a hang reaches it
TINY = PRESETS["tiny"]
DEMO = [TINY.with_variant(v) for v in ("none", "additive", "dot")]


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path)


@pytest.fixture
def runner(store):
    runner = JobRunner(store, max_jobs=1)
    yield runner
    runner.shutdown()


def test_create_runs_stores_every_run_in_order_with_its_name(store):
    ids = store.create_runs(DEMO, names=["plain", None, "dot run"], session="alice")
    assert [store.config(run_id) for run_id in ids] == DEMO
    assert [store.run(run_id).name for run_id in ids] == ["plain", "reverse additive seed 0", "dot run"]
    assert {store.run(run_id).session for run_id in ids} == {"alice"}
    assert set(store.runs()["status"]) == {"queued"}


def test_a_failure_in_the_middle_of_create_runs_stores_none_and_the_store_keeps_working(store, monkeypatch):
    seen = []
    to_dict = RunConfig.to_dict

    def interrupted_at_the_second(cfg):  # e.g. Ctrl-C or a page rerun, after the first row is written
        seen.append(cfg.model.variant)
        if cfg is DEMO[1]:
            raise KeyboardInterrupt
        return to_dict(cfg)

    monkeypatch.setattr(RunConfig, "to_dict", interrupted_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        store.create_runs(DEMO, names=["a", "b", "c"])
    monkeypatch.setattr(RunConfig, "to_dict", to_dict)
    assert seen[0] == "none" and seen[-1] == "additive" and store.runs().empty  # the first row was rolled back
    assert len(store.create_runs(DEMO)) == 3 and len(store.runs()) == 3


def test_submit_many_with_a_bad_run_in_the_middle_creates_and_queues_none(runner, store):
    with pytest.raises(StoreError, match="1 to 200 characters"):
        runner.submit_many(DEMO, names=["first", " \t ", "third"])  # the second name is empty once cleaned
    assert store.runs().empty and runner.active() == []
    ids = runner.submit_many(DEMO, names=["first", "second", "third"])
    assert runner.active() == ids and len(store.runs()) == 3  # queued in the order asked
    assert set(runner.wait_many(ids, timeout=HANG).values()) == {"done"}


def test_submit_many_returns_ids_in_order_and_identical_configs_share_one_run(runner, store):
    ids = runner.submit_many([DEMO[0], DEMO[1], DEMO[0]])
    assert ids[0] == ids[2] != ids[1] and len(store.runs()) == 2
    assert [store.config(run_id) for run_id in ids] == [DEMO[0], DEMO[1], DEMO[0]]
    with pytest.raises(JobError, match="2 names"):
        runner.submit_many(DEMO, names=["one", "two"])
    for run_id in set(ids):
        runner.cancel(run_id)
