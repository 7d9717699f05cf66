"""The run store: schema migrations, round trips, refused files, cache, buffering, concurrent writers."""
import argparse
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from attn.config import PRESETS, RunConfig
from attn.data.corpus import load_corpus
from attn.training.experiment import run
from attn.cli.runs import register
from attn.runs.store import SCHEMA_VERSION, RunStore, StoreError
from attn.runs.version import code_version, source_hash
from attn.training.events import TrainEvent

TINY = PRESETS["tiny"]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    return RunStore()


@pytest.fixture(scope="module")
def result():
    """One real RunResult of the tiny preset, trained once for the whole module."""
    return run(TINY)


# ------------------------------------------------------------------------------------------ schema

def test_store_is_created_under_attn_home_in_wal_mode(store, tmp_path):
    assert store.home == (tmp_path / "home").resolve()
    assert store.path.is_file() and (store.home / "weights").is_dir()
    assert store._db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_empty_store_migrates_to_the_current_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION
    tables = {r[0] for r in store._db().execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "curves", "buckets", "decodes", "vocabs", "corpora"} <= tables
    assert store.runs().empty and store.integrity_check() == "ok"


# The first release's schema, frozen here as it was written to disk: a migration must never be edited.
V1_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    task TEXT NOT NULL, variant TEXT NOT NULL, style TEXT NOT NULL, seed INTEGER NOT NULL,
    config TEXT NOT NULL, config_key TEXT NOT NULL, code_version TEXT NOT NULL, session TEXT,
    created REAL NOT NULL, started REAL, finished REAL, train_seconds REAL, eval_seconds REAL,
    params INTEGER, overall TEXT, bleu REAL, weights TEXT);
CREATE INDEX runs_cache ON runs (config_key, seed, code_version, status);
CREATE INDEX runs_created ON runs (created);
CREATE TABLE curves (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, kind TEXT NOT NULL,
    step INTEGER NOT NULL, epoch INTEGER NOT NULL, elapsed REAL NOT NULL,
    train_loss REAL, valid_loss REAL, tokens_per_s REAL,
    PRIMARY KEY (run_id, kind, step, epoch)) WITHOUT ROWID;
CREATE TABLE buckets (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, position INTEGER NOT NULL,
    bucket TEXT NOT NULL, lo INTEGER, hi INTEGER, n INTEGER, bleu REAL, chrf REAL, exact REAL,
    token_acc REAL, align REAL, aer REAL, PRIMARY KEY (run_id, position)) WITHOUT ROWID;
CREATE TABLE vocabs (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE, src TEXT NOT NULL, tgt TEXT NOT NULL);
PRAGMA user_version = 1;
"""


def test_a_version_1_store_opens_with_its_runs_kept(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO runs (id, name, status, task, variant, style, seed, config, config_key, code_version, "
               "created, finished, bleu) VALUES ('old1', 'old run', 'done', 'reverse', 'dot', 'luong', 3, ?, ?, "
               "'0.0.1+abc', 1.7e9, 1.7e9, 12.5)", (json.dumps(TINY.to_dict()), TINY.key()))
    db.execute("INSERT INTO curves VALUES ('old1', 'epoch', 10, 1, 2.0, 1.5, 1.25, 900.0)")
    db.execute("INSERT INTO buckets VALUES ('old1', 0, '3-7', 3, 7, 40, 12.5, 30.0, 5.0, 60.0, NULL, NULL)")
    db.commit()
    db.close()

    store = RunStore(tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.runs()[["id", "status", "seed", "bleu"]].values.tolist() == [["old1", "done", 3, 12.5]]
    assert store.curves("old1", "epoch")["valid_loss"].tolist() == [1.25]
    assert store.buckets("old1")["n"].tolist() == [40]
    assert store.config("old1") == TINY
    assert store.cancel_requested("old1") is False and store.decodes("old1") == []
    before = store.version()
    new = store.create_run(TINY)  # and the migrated store takes new runs
    assert store.status(new) == "queued" and store.integrity_check() == "ok"
    assert store.version() != before


def test_a_store_from_a_newer_release_is_refused(tmp_path):
    RunStore(tmp_path)
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this release"):
        RunStore(tmp_path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "runs.sqlite").write_bytes(b"these are not the pages of an SQLite database" * 100)
    with pytest.raises(StoreError, match="not a run store"):
        RunStore(tmp_path)


# ----------------------------------------------------------------------------- results and weights

def test_a_saved_model_loads_and_gives_identical_outputs(store, result):
    run_id = store.save_finished(TINY, result)
    model, src_vocab, tgt_vocab, cfg = store.load_model(run_id)
    assert cfg == TINY and not model.training
    assert src_vocab.to_list() == result.src_vocab.to_list() and tgt_vocab.to_list() == result.tgt_vocab.to_list()
    src = torch.tensor([[5, 6, 7, 8], [9, 10, 4, 0]])
    src_len = torch.tensor([4, 3])
    tgt_in = torch.tensor([[2, 8, 7, 6], [2, 4, 10, 9]])
    result.model.eval()
    with torch.no_grad():
        expected_logits, expected_weights = result.model(src, src_len, tgt_in)
        logits, weights = model(src, src_len, tgt_in)
    assert torch.equal(logits, expected_logits) and torch.equal(weights, expected_weights)


def _corrupt_with(path, kind: str) -> None:
    if kind == "junk bytes":
        path.write_bytes(b"definitely not a zip archive of tensors")
    elif kind == "a list":
        torch.save([1, 2, 3], path)
    elif kind == "a pickled object":
        torch.save({"model": argparse.Namespace(a=1)}, path)  # weights_only=True refuses to build it
    elif kind == "another model's state_dict":
        torch.save({"encoder.embed.weight": torch.zeros(3, 3)}, path)
    elif kind == "wrong shapes":
        state = torch.load(path, weights_only=True)
        state["decoder.out.bias"] = torch.zeros(state["decoder.out.bias"].shape[0] + 1)
        torch.save(state, path)


@pytest.mark.parametrize("kind", ["junk bytes", "a list", "a pickled object", "another model's state_dict",
                                  "wrong shapes"])
def test_a_weights_file_that_is_not_this_runs_state_dict_is_refused(store, result, kind):
    run_id = store.save_finished(TINY, result)
    _corrupt_with(store.home / "weights" / f"{run_id}.pt", kind)
    with pytest.raises(StoreError, match="not loaded"):
        store.load_model(run_id)


def test_weights_are_written_without_temporary_files_left_behind(store, result):
    run_id = store.save_finished(TINY, result)
    assert sorted(p.name for p in (store.home / "weights").iterdir()) == [f"{run_id}.pt"]


def test_the_reading_api_returns_frames_the_dashboard_plots(store, result):
    ids = [store.save_finished(TINY, result, name="first"), store.save_finished(TINY.with_variant("dot"), result)]
    runs = store.runs()
    assert len(runs) == 2 and {"id", "name", "status", "task", "variant", "style", "seed", "created",
                               "train_seconds", "params", "step", "total_steps", "progress", "eta",
                               "tokens_per_s", "heartbeat", "bleu"} <= set(runs.columns)
    assert runs["progress"].tolist() == [1.0, 1.0] and runs["params"].tolist() == [result.params] * 2
    assert store.runs(variant="dot")["id"].tolist() == [ids[1]]
    assert store.runs(status="failed").empty

    steps = store.curves(ids, "step")
    assert len(steps) == 2 * len(result.training.steps)
    assert {"run_id", "name", "variant", "seed", "step", "epoch", "train_loss", "tokens_per_s"} <= set(steps.columns)
    epochs = store.curves(ids[0], "epoch")
    assert epochs["valid_loss"].tolist() == [e["valid_loss"] for e in result.training.epochs]
    assert epochs["name"].unique().tolist() == ["first"]

    buckets = store.buckets(ids)
    assert len(buckets) == 2 * len(result.buckets)
    assert {"run_id", "task", "variant", "style", "seed", "bucket", "lo", "hi", "n", "bleu", "chrf", "exact",
            "token_acc", "align", "aer"} <= set(buckets.columns)
    assert np.allclose(buckets["bleu"].values[:len(result.buckets)], [b.bleu for b in result.buckets], equal_nan=True)
    assert store.bucket_rows(ids[0]) == result.buckets  # the same records come back

    decodes = store.decodes(ids[0])
    assert len(decodes) == len(result.decodes)
    first, original = decodes[0], result.decodes[0]
    assert (first.index, first.bucket, first.src, first.ref, first.hyp) == (
        original.index, original.bucket, original.src, original.ref, original.hyp)
    assert first.weights.dtype == np.float32 and first.weights.shape == original.weights.shape
    assert np.allclose(first.forced, original.forced, atol=1e-3)  # stored as float16
    label = result.buckets[1].bucket
    by_label, by_index = store.decodes(ids[0], bucket=label), store.decodes(ids[0], bucket=1)
    assert [d.index for d in by_label] == [d.index for d in by_index]
    assert {d.bucket for d in by_index} == {1} and len(by_index) == result.buckets[1].n

    detail = store.run(ids[0])
    assert detail["config"] == TINY.to_dict() and detail["overall"]["n"] == len(result.decodes)


def test_a_run_without_attention_stores_no_matrices(store):
    cfg = TINY.with_variant("none")
    run_id = store.save_finished(cfg, run(cfg))
    assert all(d.weights is None and d.forced is None for d in store.decodes(run_id))
    assert store.buckets(run_id)["align"].isna().all()


# ---------------------------------------------------------------------------------------- the cache

def test_the_cache_needs_the_same_config_seed_and_code_version(store, result):
    run_id = store.save_finished(TINY, result)
    assert store.find_cached(TINY) == run_id
    assert store.find_cached(dataclasses.replace(TINY, seed=1)) is None
    assert store.find_cached(TINY.with_variant("dot")) is None
    store._db().execute("UPDATE runs SET code_version='0.0.0+older' WHERE id=?", (run_id,))
    assert store.find_cached(TINY) is None
    assert code_version().startswith(__import__("attn").__version__ + "+")


@pytest.fixture
def attn_copy(tmp_path):
    """A copy of the attn package's sources to edit."""
    import shutil
    import attn
    copy = tmp_path / "attn"
    shutil.copytree(os.path.dirname(attn.__file__), copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _append(path, text):
    path.write_text(path.read_text() + text)


def test_the_code_version_follows_the_c_kernels_too(attn_copy):
    """A kernel computes what is trained: changing one must not let old runs answer from the cache."""
    before = source_hash(attn_copy)
    _append(attn_copy / "nn" / "kernels" / "gru.c", "\n/* changed */\n")
    assert source_hash(attn_copy) != before


@pytest.mark.parametrize("module", ["nn/model.py", "training/evaluate.py", "data/tasks/toy_fr.py", "config.py"])
def test_changing_what_computes_a_run_changes_the_code_version(attn_copy, module):
    before = source_hash(attn_copy)
    _append(attn_copy / module, "\n# changed\n")
    assert source_hash(attn_copy) != before


@pytest.mark.parametrize("module", ["viz/charts.py", "cli/main.py", "app/ui.py", "runs/store.py",
                                    "training/bench.py"])
def test_changing_a_chart_page_or_cli_module_keeps_the_code_version(attn_copy, module):
    before = source_hash(attn_copy)
    _append(attn_copy / module, "\n# changed\n")
    assert source_hash(attn_copy) == before


def test_code_version_is_the_release_plus_the_hash_of_this_package():
    import attn
    from pathlib import Path
    assert code_version() == f"{attn.__version__}+{source_hash(Path(attn.__file__).parent)}"


def test_a_failed_run_is_never_a_cache_hit(store):
    run_id = store.create_run(TINY)
    store.set_status(run_id, "failed", error="boom")
    assert store.find_cached(TINY) is None and store.run(run_id)["error"] == "boom"


# ------------------------------------------------------------------------------------- live writing

def _event(kind, step, epoch=0, **extra):
    return TrainEvent(kind, step, 100, epoch, 2, step * 0.01, **extra)


def test_step_rows_wait_in_memory_until_an_epoch_ends(store):
    writer = RunStore(store.home, flush_seconds=3600)
    run_id = writer.create_run(TINY)
    writer.record_event(run_id, _event("start", 0))
    assert store.progress(run_id)["total_steps"] == 100
    for step in range(1, 11):
        writer.record_event(run_id, _event("step", step, train_loss=2.0, tokens_per_s=1000.0, eta=9.0))
    assert store.curves(run_id).empty and store.progress(run_id)["step"] == 0
    writer.record_event(run_id, _event("epoch", 10, epoch=1, train_loss=1.9, valid_loss=1.8))
    assert len(store.curves(run_id)) == 10 and len(store.curves(run_id, "epoch")) == 1
    progress = store.progress(run_id)
    assert (progress["step"], progress["epoch"], progress["progress"]) == (10, 1, 0.1)


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


# ------------------------------------------------------------------------------- statuses and files

def test_runs_held_by_a_process_that_is_gone_become_interrupted(store):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{int(gone.stdout)}:0"
    orphan = store.create_run(TINY, owner=dead_owner)
    mine = store.create_run(TINY.with_variant("dot"))  # owned by this live process
    running = store.create_run(TINY.with_variant("none"))
    store.set_status(running, "running", pid=int(gone.stdout))
    assert sorted(store.mark_interrupted()) == sorted([orphan, running])
    assert store.status(orphan) == store.status(running) == "interrupted" and store.status(mine) == "queued"
    assert "resubmit" in store.run(orphan)["error"]


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
    assert store.run(run_id)["name"] == "reverse additive seed 0"
    store.rename(run_id, "  my\nrun ")
    assert store.run(run_id)["name"] == "my run"
    with pytest.raises(StoreError, match="1 to 200"):
        store.rename(run_id, "   ")
    with pytest.raises(StoreError, match="valid: queued"):
        store.set_status(run_id, "paused")
    with pytest.raises(StoreError, match="no run with id 'nope'"):
        store.status("nope")
    store.request_cancel(run_id)
    assert store.cancel_requested(run_id)


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


def test_configs_of_many_runs_come_in_one_call(store):
    ids = [store.create_run(TINY.with_variant(v)) for v in ("none", "dot")]
    configs = store.configs([*ids, "nope"])
    assert set(configs) == set(ids)
    assert RunConfig.from_dict(configs[ids[1]]) == TINY.with_variant("dot")


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
    assert store.run(store.create_run(cfg))["task"] == "train.en+train.fr"  # shown, never a path
    with pytest.raises(StoreError, match="one file"):
        store.store_corpus({})


def test_export_gives_json_with_curves_and_csv_with_buckets(store, result):
    run_id = store.save_finished(TINY, result)
    [exported] = json.loads(store.export([run_id]))
    assert exported["id"] == run_id and exported["config"] == TINY.to_dict()
    assert len(exported["buckets"]) == len(result.buckets) and len(exported["curves"]["epoch"]) == 2
    csv = store.export(run_id, fmt="csv").splitlines()
    assert csv[0].startswith("run_id,") and len(csv) == 1 + len(result.buckets)


# -------------------------------------------------------------------------------------------- CLI

def _cli(store, *argv, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["runs", "--home", str(store.home), *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_cli_lists_shows_exports_and_deletes(store, result, capsys, tmp_path):
    run_id = store.save_finished(TINY, result)
    code, out, _ = _cli(store, "list", capsys=capsys)
    assert code == 0 and out.startswith(run_id)
    code, out, _ = _cli(store, "list", "--json", capsys=capsys)
    [row] = json.loads(out)
    assert {"id": run_id, "status": "done", "task": "reverse", "variant": "additive", "seed": 0}.items() <= row.items()
    assert "created" in row
    code, out, _ = _cli(store, "show", run_id, capsys=capsys)
    assert code == 0 and '"hidden": 32' in out and "by source length" in out
    code, _, _ = _cli(store, "export", run_id, "--format", "csv", "--out", str(tmp_path / "b.csv"), capsys=capsys)
    assert code == 0 and (tmp_path / "b.csv").read_text().startswith("run_id,")
    code, _, err = _cli(store, "delete", run_id, "nope", capsys=capsys)
    assert code == 2 and "nope" in err and store.status(run_id) == "done"  # nothing deleted
    code, _, err = _cli(store, "show", "nope", capsys=capsys)
    assert code == 2 and "no run with id 'nope'" in err
    assert _cli(store, "delete", run_id, capsys=capsys)[0] == 0 and store.runs().empty
