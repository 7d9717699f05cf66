"""Writing runs: buffered training events, results, concurrent writers, statuses, deletions, corpora."""
import dataclasses
import os
import subprocess
import sys
import textwrap

import pytest

from attn.config import PRESETS, RunConfig
from attn.data.corpus import load_corpus
from attn.runs.store import RunStore, StoreError
from attn.training.events import TrainEvent

TINY = PRESETS["tiny"]


def _event(kind, step, epoch=0, **extra):
    return TrainEvent(kind, step, 100, epoch, 2, step * 0.01, **extra)


def test_weights_are_written_without_temporary_files_left_behind(store, result):
    run_id = store.save_finished(TINY, result)
    assert sorted(p.name for p in (store.home / "weights").iterdir()) == [f"{run_id}.pt"]


def test_step_rows_wait_in_memory_until_an_epoch_ends(store):
    writer = RunStore(store.home, flush_seconds=3600)
    run_id = writer.create_run(TINY)
    writer.record_event(run_id, _event("start", 0))
    assert store.progress(run_id).total_steps == 100
    for step in range(1, 11):
        writer.record_event(run_id, _event("step", step, train_loss=2.0, tokens_per_s=1000.0, eta=9.0))
    assert store.curves(run_id).empty and store.progress(run_id).step == 0
    writer.record_event(run_id, _event("epoch", 10, epoch=1, train_loss=1.9, valid_loss=1.8))
    assert len(store.curves(run_id)) == 10 and len(store.curves(run_id, "epoch")) == 1
    progress = store.progress(run_id)
    assert (progress.step, progress.epoch, progress.progress) == (10, 1, 0.1)


def test_step_rows_are_written_when_the_flush_interval_has_passed(store):
    writer = RunStore(store.home, flush_seconds=0)
    run_id = writer.create_run(TINY)
    for step in range(1, 6):
        writer.record_event(run_id, _event("step", step, train_loss=2.0))
    assert store.curves(run_id)["step"].tolist() == [1, 2, 3, 4, 5]


WRITER = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from attn.config import PRESETS
    from attn.training.experiment import prepare, run
    from attn.runs.store import RunStore
    import os, pathlib, time
    store = RunStore(sys.argv[1], flush_seconds=0)  # every event its own transaction: most contention
    barrier = pathlib.Path(sys.argv[2])
    prepared = prepare(PRESETS["tiny"].data)
    for i, seed in enumerate(map(int, sys.argv[3:])):
        cfg = PRESETS["tiny"].with_variant("additive", seed=seed)
        run_id = store.create_run(cfg)
        if i == 0:  # both writers hold a created run before either trains, so their spans overlap
            (barrier / str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while len(list(barrier.iterdir())) < 2:
                if time.monotonic() > deadline:
                    sys.exit("the other writer never reached the barrier")
                time.sleep(0.01)
        store.save_result(run_id, run(cfg, prepared, callbacks=[store.recorder(run_id)]))
""")


def test_two_processes_writing_at_once_lose_nothing(store, tmp_path):
    env = dict(os.environ)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(store.home), str(barrier), *seeds], env=env)
               for seeds in (["1", "2"], ["3", "4"])]
    assert [w.wait(120) for w in writers] == [0, 0]
    runs = store.runs()
    assert sorted(runs["seed"]) == [1, 2, 3, 4] and set(runs["status"]) == {"done"}
    steps = store.curves(runs["id"].tolist())
    assert steps.groupby("run_id").size().tolist() == [10] * 4  # tiny: 20 steps, an event every 2
    assert len(store.buckets(runs["id"].tolist())) == 4 * 5 and store.integrity_check() == "ok"
    spans = [(group["created"].min(), group["finished"].max()) for _, group in runs.groupby(runs["seed"] > 2)]
    assert max(s for s, _ in spans) < min(f for _, f in spans)  # the two writers did overlap (the barrier)


def test_runs_held_by_a_process_that_is_gone_become_interrupted(store):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{int(gone.stdout)}:0"
    orphan = store.create_run(TINY, owner=dead_owner)
    mine = store.create_run(TINY.with_variant("dot"))  # owned by this live process
    running = store.create_run(TINY.with_variant("none"))
    store.set_status(running, "running", pid=int(gone.stdout))
    assert sorted(store.mark_interrupted()) == sorted([orphan, running])
    assert store.status(orphan) == store.status(running) == "interrupted" and store.status(mine) == "queued"
    assert "resubmit" in store.run(orphan).error


def test_delete_removes_the_run_its_rows_and_its_weights(store, result):
    keep, gone = store.save_finished(TINY, result), store.save_finished(TINY.with_variant("dot"), result)
    store.delete([gone])
    assert store.runs()["id"].tolist() == [keep]
    assert store.curves(gone).empty and store.buckets(gone).empty
    assert not (store.home / "weights" / f"{gone}.pt").exists() and (store.home / "weights" / f"{keep}.pt").exists()
    with pytest.raises(StoreError, match="no run with id"):
        store.delete(["nope"])


def test_an_active_run_must_be_cancelled_before_it_is_deleted(store):
    run_id = store.create_run(TINY)
    with pytest.raises(StoreError, match="cancel it"):
        store.delete(run_id)


def test_names_and_statuses_are_checked(store):
    run_id = store.create_run(TINY)
    assert store.run(run_id).name == "reverse additive seed 0"
    store.rename(run_id, "  my\nrun ")
    assert store.run(run_id).name == "my run"
    with pytest.raises(StoreError, match="1 to 200"):
        store.rename(run_id, "   ")
    with pytest.raises(StoreError, match="valid: queued"):
        store.set_status(run_id, "paused")
    with pytest.raises(StoreError, match="no run with id 'nope'"):
        store.status("nope")
    store.request_cancel(run_id)
    assert store.cancel_requested(run_id)


def test_an_uploaded_corpus_is_kept_by_content_hash_under_names_the_store_picks(store):
    lines = "".join(f"{' '.join(w)}\t{' '.join(reversed(w))}\n" for w in ("abc", "bcd", "cde", "def", "efg"))
    spec, sha = store.store_corpus({"../../etc/passwd": lines.encode()})
    assert spec == str(store.home / "corpora" / sha / "corpus.tsv")
    assert load_corpus(spec).report["sha256"] == sha
    assert store.store_corpus({"again.tsv": lines.encode()}) == (spec, sha)

    src, tgt = "a b\nb c\nc d\n".encode(), "b a\nc b\nd c\n".encode()
    spec2, sha2 = store.store_corpus({"train.en": src, "train.fr": tgt})
    assert spec2.count(",") == 1 and all(p.startswith(str(store.home / "corpora" / sha2)) for p in spec2.split(","))
    assert load_corpus(spec2).report["sha256"] == sha2

    cfg = RunConfig(data=dataclasses.replace(TINY.data, task="corpus", corpus=spec2, corpus_sha256=sha2))
    assert store.run(store.create_run(cfg)).task == "train.en+train.fr"  # shown, never a path
    with pytest.raises(StoreError, match="one file"):
        store.store_corpus({})



def test_both_ways_of_creating_runs_store_the_model_label_in_the_variant_column(store):
    from attn.config import LENGTH_TRANSFORMER
    transformer = dataclasses.replace(TINY, model=dataclasses.replace(LENGTH_TRANSFORMER, positions="none"))
    alone = store.create_run(transformer)
    together = store.create_runs([transformer, TINY.with_variant("dot")])
    runs = store.runs().set_index("id")
    assert [runs.loc[rid, "variant"] for rid in [alone, *together]] == ["dec·nope", "dec·nope", "dot"]
    assert [runs.loc[rid, "name"] for rid in [alone, *together]] == ["reverse dec·nope seed 0"] * 2 + [
        "reverse dot seed 0"]
    assert store.config(alone) == transformer  # the label is read off the config, which is kept as it was
