"""The store's schema: migrations from every earlier version, refused files and newer stores."""
import dataclasses
import json
import sqlite3

import pytest

from attn.config import LENGTH_TRANSFORMER, PRESETS, ModelConfig
from attn.runs.schema import MIGRATIONS, relabel_models
from attn.runs.store import SCHEMA_VERSION, RunStore, StoreError

TINY = PRESETS["tiny"]


def test_an_empty_store_migrates_to_the_current_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION
    tables = {r[0] for r in store._db().execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "curves", "buckets", "decodes", "vocabs", "corpora"} <= tables
    assert store.runs().empty and store.integrity_check() == "ok"


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



def _store_at_version(path, version: int) -> sqlite3.Connection:
    """A raw store file built by the first `version` migrations, as an older release left it."""
    db = sqlite3.connect(path / "runs.sqlite", isolation_level=None)
    for step in MIGRATIONS[:version]:
        step(db)
    db.execute(f"PRAGMA user_version = {version}")
    return db


def _insert_run(db, run_id, name, variant, cfg):
    db.execute("INSERT INTO runs (id, name, status, task, variant, style, seed, config, config_key, code_version, "
               "created) VALUES (?, ?, 'done', 'reverse', ?, 'luong', 0, ?, ?, '0.0.1+abc', 1.7e9)",
               (run_id, name, variant, json.dumps(cfg.to_dict()), cfg.key()))


def test_opening_a_store_relabels_its_old_transformer_rows_and_leaves_rnn_rows_untouched(tmp_path):
    alibi = dataclasses.replace(TINY, model=dataclasses.replace(LENGTH_TRANSFORMER, positions="alibi"))
    encdec = dataclasses.replace(TINY, model=ModelConfig(family="transformer", positions="rope", hidden=32))
    db = _store_at_version(tmp_path, 3)
    _insert_run(db, "tr1", "reverse additive seed 0", "additive", alibi)  # the store's own name
    _insert_run(db, "tr2", "my transformer", "additive", encdec)          # a name someone gave it
    _insert_run(db, "rnn", "reverse additive seed 0", "additive", TINY.with_variant("additive"))
    _insert_run(db, "bad", "unreadable", "dot", TINY)
    db.execute("UPDATE runs SET config='{not json' WHERE id='bad'")
    version_before = db.execute("SELECT n FROM changes").fetchone()[0]
    db.close()

    store = RunStore(tmp_path)
    runs = store.runs().set_index("id")
    assert runs.loc[["tr1", "tr2", "rnn", "bad"], "variant"].tolist() == ["dec·alibi", "encdec·rope", "additive",
                                                                          "dot"]
    assert runs.loc[["tr1", "tr2", "rnn"], "name"].tolist() == ["reverse dec·alibi seed 0", "my transformer",
                                                                "reverse additive seed 0"]
    assert store.config("tr1") == alibi and store.config("tr2") == encdec  # configs kept as they were
    assert store._db().execute("SELECT n FROM changes").fetchone()[0] > version_before
    assert len(runs) == 4 and store.integrity_check() == "ok"


def test_relabelling_twice_changes_nothing_the_second_time(store):
    transformer = dataclasses.replace(TINY, model=LENGTH_TRANSFORMER)
    run_id = store.create_run(transformer)
    with store._write() as db:
        assert relabel_models(db) == 0  # a new run is stored under its label already
        db.execute("UPDATE runs SET variant='additive' WHERE id=?", (run_id,))
        assert relabel_models(db) == 1 and relabel_models(db) == 0
    assert store.runs()["variant"].tolist() == ["dec·sinusoidal"]
