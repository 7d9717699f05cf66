"""The run store's database: its folder, its schema and the migrations that build it, its connections.

    runs.sqlite         SQLite in WAL mode: readers never wait for the writer, writers take turns

Tables: runs (one row per run: config, status, live progress, overall metrics), curves (loss per
step and epoch), buckets (metrics per source-length bucket), decodes (test sentences with both
attention matrices as float16), vocabs, corpora (imported files by content hash), changes (the
counter behind RunStore.version), studies and study_runs (the runs one click asked for), checkpoints
and probe_maps (a run's bucket metrics and probe attention while it trained). The runs'
`variant` column holds each run's model label (attn.config.MODEL_ORDER). The schema grows by appending
to `MIGRATIONS`, never by editing one: an old store opens in a new release, and a store from a newer
release is refused.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

from attn.config import model_label

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
DB_NAME = "runs.sqlite"


class StoreError(RuntimeError):
    """A store that cannot do what was asked: unknown run, refused file, newer schema, bad value."""


def clean_name(name: str, what: str = "run") -> str:
    """A name people gave (a run's, a study's): control characters as spaces, 1 to 200 characters."""
    if not isinstance(name, str):
        raise StoreError(f"a {what} name must be text, got {type(name).__name__}")
    cleaned = re.sub(r"[\x00-\x1f\x7f]+", " ", name).strip()
    if not 1 <= len(cleaned) <= 200:
        raise StoreError(f"a {what} name must have 1 to 200 characters, got {len(cleaned)}")
    return cleaned


def home(path: str | os.PathLike | None = None) -> Path:
    """The data folder: `path`, else $ATTN_HOME, else ./runs."""
    return Path(path or os.environ.get("ATTN_HOME") or "runs").expanduser().resolve()


# ------------------------------------------------------------------------------------------ schema

def _v1(db: sqlite3.Connection) -> None:
    """Runs, their loss curves, bucket metrics and vocabularies."""
    for statement in (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
            task TEXT NOT NULL, variant TEXT NOT NULL, style TEXT NOT NULL, seed INTEGER NOT NULL,
            config TEXT NOT NULL, config_key TEXT NOT NULL, code_version TEXT NOT NULL, session TEXT,
            created REAL NOT NULL, started REAL, finished REAL, train_seconds REAL, eval_seconds REAL,
            params INTEGER, overall TEXT, bleu REAL, weights TEXT)""",
        "CREATE INDEX runs_cache ON runs (config_key, seed, code_version, status)",
        "CREATE INDEX runs_created ON runs (created)",
        """CREATE TABLE curves (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, kind TEXT NOT NULL,
            step INTEGER NOT NULL, epoch INTEGER NOT NULL, elapsed REAL NOT NULL,
            train_loss REAL, valid_loss REAL, tokens_per_s REAL,
            PRIMARY KEY (run_id, kind, step, epoch)) WITHOUT ROWID""",
        """CREATE TABLE buckets (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, position INTEGER NOT NULL,
            bucket TEXT NOT NULL, lo INTEGER, hi INTEGER, n INTEGER, bleu REAL, chrf REAL, exact REAL,
            token_acc REAL, align REAL, aer REAL, PRIMARY KEY (run_id, position)) WITHOUT ROWID""",
        """CREATE TABLE vocabs (
            run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE, src TEXT NOT NULL,
            tgt TEXT NOT NULL)""",
    ):
        db.execute(statement)


def _v2(db: sqlite3.Connection) -> None:
    """Live progress and cancel flags for the job runner, test decodes, imported corpora."""
    for column in ("owner TEXT", "pid INTEGER", "worker TEXT", "cancel INTEGER NOT NULL DEFAULT 0",
                   "step INTEGER", "total_steps INTEGER", "epoch INTEGER", "epochs INTEGER", "eta REAL",
                   "tokens_per_s REAL", "heartbeat REAL"):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    db.execute("CREATE INDEX runs_status ON runs (status)")
    db.execute("""CREATE TABLE decodes (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, idx INTEGER NOT NULL,
        bucket INTEGER, src TEXT NOT NULL, ref TEXT NOT NULL, hyp TEXT NOT NULL,
        weights BLOB, weights_t INTEGER, weights_s INTEGER, forced BLOB, forced_t INTEGER, forced_s INTEGER)""")
    db.execute("CREATE UNIQUE INDEX decodes_run ON decodes (run_id, idx)")
    db.execute("""CREATE TABLE corpora (
        sha256 TEXT PRIMARY KEY, spec TEXT NOT NULL, names TEXT NOT NULL, bytes INTEGER NOT NULL,
        created REAL NOT NULL)""")


def _v3(db: sqlite3.Connection) -> None:
    """A change counter for readers' caches: bumped by every added or deleted run, status change and rename.

    Live progress (step, eta, heartbeat) and curve rows of a training run do not bump it: they are
    written twice a second, and what depends on them is read fresh.
    """
    db.execute("CREATE TABLE changes (store TEXT NOT NULL, n INTEGER NOT NULL)")
    db.execute("INSERT INTO changes VALUES (lower(hex(randomblob(8))), 0)")  # a store made anew starts elsewhere
    for name, event in (("runs_added", "INSERT ON runs"), ("runs_deleted", "DELETE ON runs"),
                        ("runs_changed", "UPDATE OF status, name ON runs")):
        db.execute(f"CREATE TRIGGER {name} AFTER {event} BEGIN UPDATE changes SET n = n + 1; END")


def relabel_models(db: sqlite3.Connection) -> int:
    """Set `variant` to the label of each Transformer row's stored config -> rows changed.

    A row still named as the store named it ("reverse additive seed 0") gets the name with its label;
    names given by people are kept. Idempotent (a row already labelled is not touched); runs inside the
    caller's transaction. A config that is not readable JSON keeps its row as it is: nothing stored is
    lost or made unreadable.
    """
    changed = []
    for run_id, variant, name, task, seed, config in db.execute(
            "SELECT id, variant, name, task, seed, config FROM runs").fetchall():
        try:
            model = json.loads(config)["model"]
        except (TypeError, ValueError, KeyError):
            continue
        if not isinstance(model, dict) or model.get("family") != "transformer":
            continue
        label = model_label(**{k: model[k] for k in ("family", "variant", "arch", "positions") if k in model})
        if label != variant:
            default_name = f"{task} {variant} seed {seed}"  # the name the store gave it, now misleading
            changed.append((label, f"{task} {label} seed {seed}" if name == default_name else name, run_id))
    db.executemany("UPDATE runs SET variant=?, name=? WHERE id=?", changed)
    if changed:
        db.execute("UPDATE changes SET n = n + 1")  # readers' caches of run lists hold the old labels
    return len(changed)


def _v4(db: sqlite3.Connection) -> None:
    """The `variant` column becomes the model label (attn.config.MODEL_ORDER): relabel stored Transformers.

    Transformer rows were stored under their config's unused RNN variant (mostly "additive"); each gets
    the label of its stored config, e.g. "dec·rope". RNN rows already hold theirs and are left as they are.
    """
    relabel_models(db)


def _v5(db: sqlite3.Connection) -> None:
    """Studies: the runs one click asked for (attn.runs.studies), in the order it asked for them.

    A deleted run leaves its studies through the foreign key; a new study bumps the change counter.
    """
    db.execute("""CREATE TABLE studies (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL)""")
    db.execute("CREATE INDEX studies_created ON studies (created)")
    # The key's columns come first: SQLite 3.40's integrity_check misreads a WITHOUT ROWID table whose
    # other columns sit between them ("NULL value in study_runs.run_id" on sound rows).
    db.execute("""CREATE TABLE study_runs (
        study_id TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE, position INTEGER NOT NULL,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        PRIMARY KEY (study_id, position)) WITHOUT ROWID""")
    db.execute("CREATE INDEX study_runs_run ON study_runs (run_id)")  # a run's deletion finds its rows
    db.execute("CREATE TRIGGER studies_added AFTER INSERT ON studies BEGIN UPDATE changes SET n = n + 1; END")


def _v6(db: sqlite3.Connection) -> None:
    """Checkpoints taken while a run trains (attn.records.Checkpoint): the metric per length bucket, and
    each probe sentence's attention as float16 .npy bytes (attn.training.checkpoints.encode_map).

    At most MAX_CHECKPOINTS per run (the store thins them as they come); runs stored before have none.
    A probe map goes with its checkpoint, a checkpoint with its run (foreign keys, ON DELETE CASCADE).
    """
    db.execute("""CREATE TABLE checkpoints (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step INTEGER NOT NULL,
        epoch REAL NOT NULL, seconds REAL NOT NULL, buckets TEXT NOT NULL,
        PRIMARY KEY (run_id, step)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE probe_maps (
        run_id TEXT NOT NULL, step INTEGER NOT NULL, position INTEGER NOT NULL,
        src TEXT NOT NULL, tgt TEXT NOT NULL, weights BLOB, alignment REAL,
        PRIMARY KEY (run_id, step, position),
        FOREIGN KEY (run_id, step) REFERENCES checkpoints (run_id, step) ON DELETE CASCADE) WITHOUT ROWID""")


# Append only: MIGRATIONS[k] turns schema version k into k + 1 (PRAGMA user_version).
MIGRATIONS = [_v1, _v2, _v3, _v4, _v5, _v6]
SCHEMA_VERSION = len(MIGRATIONS)


# ------------------------------------------------------------------------------ connections and transactions

def connect(path: Path) -> sqlite3.Connection:
    """A new connection to the store at `path` in WAL mode, foreign keys on, in autocommit mode.

    Transactions are explicit (`Transaction`). One per thread and process: connections never cross.
    """
    try:
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a run store this release can open ({exc})") from None
    # WAL + NORMAL: a killed process loses no committed transaction (a power cut may lose the last ones)
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store at `path` to SCHEMA_VERSION; a newer store is refused, naming both versions."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    with Transaction(db):  # BEGIN IMMEDIATE: two processes opening a new store migrate it once
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} has schema version {version}, newer than this release "
                             f"understands ({SCHEMA_VERSION}); upgrade attn or set ATTN_HOME elsewhere")
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class Transaction:
    """`with Transaction(db) as db:` -- BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock later
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.db.execute("ROLLBACK")
            return
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:  # never leave the thread's connection inside a failed transaction
                self.db.execute("ROLLBACK")
            raise
