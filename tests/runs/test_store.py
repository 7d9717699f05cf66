"""RunStore as a whole: its folder, its connections, the change token readers cache under."""
import os
import pickle

from attn.config import PRESETS
from attn.runs.store import RunStore
from attn.training.events import TrainEvent

TINY = PRESETS["tiny"]


def _event(kind, step, epoch=0, **extra):
    return TrainEvent(kind, step, 100, epoch, 2, step * 0.01, **extra)


def test_store_is_created_under_attn_home_in_wal_mode(store, tmp_path):
    assert store.home == (tmp_path / "home").resolve()
    assert store.path.is_file() and (store.home / "weights").is_dir()
    assert store._db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_sent_to_another_process_reopens_the_same_folder(store):
    run_id = store.create_run(TINY)
    copy = pickle.loads(pickle.dumps(store))
    assert copy.home == store.home and copy.status(run_id) == "queued"
    assert copy._db() is not store._db()  # its own connection


def test_the_version_changes_with_runs_added_finished_renamed_or_deleted_not_with_progress(store, result):
    other = RunStore(store.home, flush_seconds=0)  # another connection, as another process has
    seen = [store.version()]

    def changed() -> bool:
        version = store.version()
        assert other.version() == version  # every reader sees the same token
        new = version not in seen
        seen.append(version)
        return new

    run_id = other.create_run(TINY)
    assert changed()
    other.set_status(run_id, "running", pid=os.getpid())
    assert changed()
    other.record_event(run_id, _event("start", 0))
    other.record_event(run_id, _event("step", 1, train_loss=2.0))
    other.record_event(run_id, _event("epoch", 1, epoch=1, train_loss=1.9, valid_loss=1.8))
    assert not changed()  # live progress and curve rows of a training run
    other.save_result(run_id, result)
    assert changed()
    other.rename(run_id, "renamed")
    assert changed()
    other.delete(run_id)
    assert changed()


def test_a_store_made_anew_in_the_same_folder_has_another_version(tmp_path):
    first = RunStore(tmp_path).version()
    for name in ("runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    assert RunStore(tmp_path).version() != first

