"""The store's schema: migrations from every earlier version, refused files and newer stores."""
import json
import sqlite3

import pytest

from attn.config import PRESETS
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

