"""RunStore's checkpoints: stored through the recorder as checkpoint events, thinned keeping first and
last, read back in step order with float16 maps, gone with their run; old stores gain the tables."""
import pickle
import sqlite3

import numpy as np
import pytest

from attn.config import PRESETS
from attn.records import BucketScore, Checkpoint, ProbeMap
from attn.runs.schema import MIGRATIONS
from attn.runs.store import RunStore, StoreError
from attn.training.events import TrainEvent

TINY = PRESETS["tiny"]


def checkpoint(step: int, alignment: float | None = 0.5) -> Checkpoint:
    """A checkpoint with two buckets and two probe maps, the weights depending on the step."""
    rng = np.random.default_rng(step)
    maps = [rng.dirichlet(np.ones(size), size=size + 1).astype(np.float32) for size in (3, 5)]
    probes = tuple(ProbeMap([f"s{j}" for j in range(m.shape[1])], [f"t{i}" for i in range(m.shape[0])], m, alignment)
                   for m in maps)
    buckets = (BucketScore("3-5", 3, 5, 10, 40.0 + step, 50.0, 10.0, 60.0, 70.0, 30.0),
               BucketScore("6-9", 6, 9, 0, None))
    return Checkpoint(step, step / 10, step * 0.1, buckets, probes)


def event(cp: Checkpoint) -> TrainEvent:
    return TrainEvent("checkpoint", cp.step, 1000, int(cp.epoch), 10, cp.seconds, payload=cp)


def test_checkpoints_recorded_as_events_are_read_back_in_step_order_with_float16_maps(store):
    run_id = store.create_run(TINY)
    record = store.recorder(run_id)
    sent = [checkpoint(step) for step in (0, 7, 20)]
    for cp in sent:
        record(pickle.loads(pickle.dumps(event(cp))))  # as a worker's queue or a cluster replays it
    got = store.checkpoints(run_id)
    assert [c.step for c in got] == [0, 7, 20]
    for a, b in zip(got, sent):
        assert (a.epoch, a.seconds, a.buckets) == (b.epoch, b.seconds, b.buckets)
        for pa, pb in zip(a.probes, b.probes):
            assert (pa.src, pa.tgt, pa.alignment) == (pb.src, pb.tgt, pb.alignment)
            assert pa.weights.dtype == np.float32
            np.testing.assert_allclose(pa.weights, pb.weights, atol=1e-3)  # float16: ~3 digits
    assert got[0].alignment == pytest.approx(0.5)
    assert store.checkpoint(run_id).step == 20 and store.checkpoint(run_id, 7).step == 7
    assert store.checkpoint(run_id, 8) is None
    assert store.checkpoints(store.create_run(TINY)) == []  # a run without checkpoints


def test_the_store_thins_to_its_limit_keeping_the_first_and_the_newest(store):
    store.checkpoint_limit = 5
    run_id = store.create_run(TINY)
    record = store.recorder(run_id)
    for step in range(0, 300, 10):
        record(event(checkpoint(step)))
        steps = [c.step for c in store.checkpoints(run_id)]
        assert steps[0] == 0 and steps[-1] == step and len(steps) <= 5
    probe_rows = store._db().execute("SELECT COUNT(*) FROM probe_maps WHERE run_id=?", (run_id,)).fetchone()[0]
    assert probe_rows == 2 * len(steps)  # the maps of thinned checkpoints went with them


def test_a_checkpoint_at_the_same_step_replaces_the_stored_one(store):
    run_id = store.create_run(TINY)
    store.record_checkpoint(run_id, checkpoint(10, alignment=0.1))
    store.record_checkpoint(run_id, checkpoint(10, alignment=0.9))
    assert [(c.step, c.alignment) for c in store.checkpoints(run_id)] == [(10, pytest.approx(0.9))]


def test_another_process_keeps_thinning_where_the_stored_steps_are(store):
    store.checkpoint_limit = 4
    run_id = store.create_run(TINY)
    for step in range(6):
        store.record_checkpoint(run_id, checkpoint(step))
    other = RunStore(store.home)
    other.checkpoint_limit = 4
    other.record_checkpoint(run_id, checkpoint(6))
    steps = [c.step for c in other.checkpoints(run_id)]
    assert steps[0] == 0 and steps[-1] == 6 and len(steps) <= 4


def test_checkpoints_go_with_their_run_and_an_unknown_run_or_payload_is_refused(store):
    run_id = store.create_run(TINY)
    store.record_checkpoint(run_id, checkpoint(0))
    store.delete(run_id, force=True)
    assert store._db().execute("SELECT COUNT(*) FROM probe_maps").fetchone()[0] == 0
    with pytest.raises(StoreError, match="no run with id"):
        store.checkpoints(run_id)
    with pytest.raises(StoreError, match="Checkpoint"):
        store.record_checkpoint(store.create_run(TINY), {"step": 1})


def test_bucket_and_alignment_frames_read_every_checkpoint_without_maps(store):
    run_id = store.create_run(TINY)
    for step in (0, 5):
        store.record_checkpoint(run_id, checkpoint(step, alignment=0.2 + step / 10))
    frame = store.checkpoint_buckets([run_id])
    assert list(frame["step"]) == [0, 0, 5, 5] and list(frame["bucket"]) == ["3-5", "6-9"] * 2
    assert frame["bleu"].iloc[2] == 45.0 and np.isnan(frame["bleu"].iloc[3])
    aligned = store.checkpoint_alignment(run_id)
    assert list(aligned["step"]) == [0, 5] and list(aligned["alignment"]) == pytest.approx([0.2, 0.7])


def test_a_store_of_the_previous_schema_gains_the_checkpoint_tables_and_keeps_its_runs(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    for step in MIGRATIONS[:-1]:
        step(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    db.commit()
    db.close()
    old = RunStore(tmp_path)
    run_id = old.create_run(TINY)
    assert old.schema_version() == len(MIGRATIONS) and old.checkpoints(run_id) == []
