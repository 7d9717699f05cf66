"""The run store: every run's config, curves, metrics, test decodes and weights, kept across restarts.

One data folder (`ATTN_HOME`, default ./runs), created on first use:
    runs.sqlite         SQLite in WAL mode: readers never wait for the writer, writers take turns
    weights/<id>.pt     each finished run's state_dict, written atomically (temp file + os.replace)
    corpora/<sha256>/   imported corpora, stored by content hash under file names the store chooses

Every process and every thread opens its own connection; job workers, the CLI and the dashboard may
write at the same time. Training steps are buffered and written in one transaction at most every
`flush_seconds` and at every epoch, so a training step barely notices the store. The schema grows by
appending to `MIGRATIONS` (never editing one): an old store opens in a new release.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from attn.config import RunConfig
from attn.records import METRICS, BucketRow, Decode, bucket_frame
from attn.runs.version import code_version

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
DB_NAME = "runs.sqlite"


class StoreError(RuntimeError):
    """A store that cannot do what was asked: unknown run, refused file, newer schema, bad value."""


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


# Append only: MIGRATIONS[k] turns schema version k into k + 1 (PRAGMA user_version).
MIGRATIONS = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)


# ---------------------------------------------------------------------------------------- processes

def process_token(pid: int | None = None) -> str:
    """"pid:start time" of a process: unlike a bare pid, it is not reused after a restart."""
    pid = os.getpid() if pid is None else pid
    fields = _proc_stat(pid)
    return f"{pid}:{fields[19] if fields else '?'}"


def process_alive(token: str | None) -> bool:
    """Whether the process a `process_token` names still runs (zombies count as gone)."""
    if not token:
        return False
    pid_text, _, start = token.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is None:  # gone since the probe, or no /proc at all (not Linux): trust the probe then
        return not os.path.isdir("/proc")
    return fields[0] not in ("Z", "X") and start in ("?", fields[19])


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first, start time at index 19), None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()
    except OSError:
        return None


# -------------------------------------------------------------------------------------------- store

class RunStore:
    """The runs in one data folder. Cheap to create; safe to use from many threads and processes."""

    def __init__(self, path: str | os.PathLike | None = None, flush_seconds: float = 0.5):
        self.home = home(path)
        self.path = self.home / DB_NAME
        self.flush_seconds = flush_seconds  # step rows wait at most this long before being written
        self._local = threading.local()
        self._buffers: dict[str, dict] = {}
        self._buffer_lock = threading.Lock()
        try:
            (self.home / "weights").mkdir(parents=True, exist_ok=True)
            (self.home / "corpora").mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the run store folder {self.home}: {exc.strerror or exc} "
                             "(set ATTN_HOME to a writable folder)") from None
        self._migrate()

    def __repr__(self) -> str:
        return f"RunStore({str(self.home)!r})"

    def __getstate__(self):  # a store sent to another process reopens there with its own connection
        return {"path": str(self.home), "flush_seconds": self.flush_seconds}

    def __setstate__(self, state):
        self.__init__(state["path"], state["flush_seconds"])

    # -- connections and transactions

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections never cross processes)."""
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            try:
                db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path} is not a run store this release can open ({exc})") from None
            # WAL + NORMAL: a killed process loses no committed transaction (a power cut may lose the last ones)
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def _write(self):
        return _Transaction(self._db())

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _migrate(self) -> None:
        db = self._db()
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self._write():  # BEGIN IMMEDIATE: two processes opening a new store migrate it once
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} has schema version {version}, newer than this release "
                                 f"understands ({SCHEMA_VERSION}); upgrade attn or set ATTN_HOME elsewhere")
            for migrate in MIGRATIONS[version:]:
                migrate(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self) -> int:
        return self._db().execute("PRAGMA user_version").fetchone()[0]

    def version(self) -> str:
        """A token that changes whenever a run is added, deleted or renamed or changes status.

        Anything derived from finished runs (their list, configs, groups, metrics) may be cached under
        it: a finished run's results are written in the same transaction as its status. Progress of
        training runs changes without it. A store deleted and made anew in the same folder starts
        from another token.
        """
        store, n = self._db().execute("SELECT store, n FROM changes").fetchone()
        return f"{store}:{n}"

    def integrity_check(self) -> str:
        """'ok', or SQLite's description of what is damaged."""
        return "\n".join(row[0] for row in self._db().execute("PRAGMA integrity_check"))

    # -- writing

    def create_run(self, cfg: RunConfig, name: str | None = None, session: str | None = None,
                   status: str = "queued", owner: str | None = None) -> str:
        """A new run in the store -> its id; `owner` (default: this process) holds it until it runs."""
        _check_status(status)
        variant, seed = cfg.model.variant, cfg.seed
        task = self._task_name(cfg)
        name = _clean_name(name) if name is not None else f"{task} {variant} seed {seed}"
        for _ in range(10):
            run_id = secrets.token_hex(4)
            try:
                with self._write() as db:
                    db.execute(
                        "INSERT INTO runs (id, name, status, task, variant, style, seed, config, config_key, "
                        "code_version, session, created, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (run_id, name, status, task, variant, cfg.model.style, seed,
                         json.dumps(cfg.to_dict()), cfg.key(), code_version(), session, time.time(),
                         owner or process_token()))
                return run_id
            except sqlite3.IntegrityError:
                continue  # the one-in-four-billion id clash: draw another
        raise StoreError("could not draw an unused run id")

    def record_event(self, run_id: str, event) -> None:
        """Buffer one TrainEvent; written at most every `flush_seconds`, and at once at start/epoch/end."""
        now = time.monotonic()
        with self._buffer_lock:
            buffer = self._buffers.setdefault(run_id, {"rows": [], "event": None, "flushed": 0.0})
            if event.kind in ("step", "epoch"):
                buffer["rows"].append((run_id, event.kind, event.step, event.epoch, event.elapsed,
                                       event.train_loss, event.valid_loss, event.tokens_per_s))
            buffer["event"] = event
            due = event.kind != "step" or now - buffer["flushed"] >= self.flush_seconds
        if due:
            self.flush(run_id)

    def recorder(self, run_id: str):
        """A trainer callback that records every event of `run_id`."""
        return functools.partial(self.record_event, run_id)

    def flush(self, run_id: str | None = None) -> None:
        """Write the buffered events of one run (or of all) in one transaction."""
        with self._buffer_lock:
            ids = [run_id] if run_id is not None else list(self._buffers)
            work = []
            for rid in ids:
                buffer = self._buffers.get(rid)
                if buffer and (buffer["rows"] or buffer["event"] is not None):
                    work.append((rid, buffer["rows"], buffer["event"]))
                    buffer["rows"], buffer["event"], buffer["flushed"] = [], None, time.monotonic()
        if not work:
            return
        with self._write() as db:
            for rid, rows, event in work:
                db.executemany("INSERT OR REPLACE INTO curves VALUES (?,?,?,?,?,?,?,?)", rows)
                if event is not None:
                    db.execute("UPDATE runs SET step=?, total_steps=?, epoch=?, epochs=?, eta=?, tokens_per_s="
                               "COALESCE(?, tokens_per_s), heartbeat=? WHERE id=?",
                               (event.step, event.total_steps, event.epoch, event.epochs, event.eta,
                                event.tokens_per_s, time.time(), rid))

    def save_result(self, run_id: str, result) -> None:
        """Everything a finished RunResult holds; the run becomes `done`."""
        self.status(run_id)  # an unknown id fails before any file is written
        with self._buffer_lock:
            self._buffers.pop(run_id, None)  # result.training holds every buffered row too
        weights = f"{run_id}.pt"
        self._write_weights(weights, result.model.state_dict())
        training = result.training
        curves = [(run_id, kind, r["step"], r["epoch"], r["elapsed"], r.get("train_loss"), r.get("valid_loss"),
                   r.get("tokens_per_s")) for kind, rows in (("step", training.steps), ("epoch", training.epochs))
                  for r in rows]
        buckets = [(run_id, i, b.bucket, b.lo, b.hi, b.n, *b.metrics()) for i, b in enumerate(result.buckets)]
        decodes = [(run_id, d.index, d.bucket, json.dumps(d.src), json.dumps(d.ref), json.dumps(d.hyp),
                    *_pack(d.weights), *_pack(d.forced)) for d in result.decodes]
        overall = {k: _float(v) if k != "n" else _int(v) for k, v in result.overall.items()}
        last = training.steps[-1] if training.steps else {}
        with self._write() as db:
            changed = db.execute(
                "UPDATE runs SET status='done', error=NULL, finished=?, train_seconds=?, eval_seconds=?, "
                "params=?, overall=?, bleu=?, weights=?, step=COALESCE(?, step), total_steps=COALESCE(?, "
                "total_steps), eta=0, heartbeat=? WHERE id=?",
                (time.time(), result.train_seconds, result.eval_seconds, result.params, json.dumps(overall),
                 overall.get("bleu"), weights, last.get("step"), last.get("total_steps"), time.time(), run_id))
            if not changed.rowcount:
                raise StoreError(f"no run with id {run_id!r} in {self.path} (deleted while it trained?)")
            db.executemany("INSERT OR REPLACE INTO curves VALUES (?,?,?,?,?,?,?,?)", curves)
            db.execute("DELETE FROM buckets WHERE run_id=?", (run_id,))
            db.executemany("INSERT INTO buckets VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", buckets)
            db.execute("DELETE FROM decodes WHERE run_id=?", (run_id,))
            db.executemany("INSERT INTO decodes (run_id, idx, bucket, src, ref, hyp, weights, weights_t, "
                           "weights_s, forced, forced_t, forced_s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", decodes)
            db.execute("INSERT OR REPLACE INTO vocabs VALUES (?,?,?)",
                       (run_id, json.dumps(result.src_vocab.to_list()), json.dumps(result.tgt_vocab.to_list())))

    def save_finished(self, cfg: RunConfig, result, name: str | None = None) -> str:
        """Store a run trained elsewhere (the CLI's `train`) in one go -> its id."""
        run_id = self.create_run(cfg, name=name, status="running")
        try:
            self.save_result(run_id, result)
        except BaseException:
            self.delete(run_id, force=True)
            raise
        return run_id

    def set_status(self, run_id: str, status: str, error: str | None = None, pid: int | None = None) -> None:
        """Move a run to `status`; `running` records the worker's pid, finished states the end time."""
        _check_status(status)
        now = time.time()
        with self._write() as db:
            if status == "running":
                cursor = db.execute("UPDATE runs SET status=?, error=?, started=?, pid=?, worker=?, heartbeat=? "
                                    "WHERE id=?", (status, error, now, pid,
                                                   None if pid is None else process_token(pid), now, run_id))
            else:
                cursor = db.execute("UPDATE runs SET status=?, error=?, finished=? WHERE id=?",
                                    (status, None if error is None else str(error)[:4000],
                                     now if status in FINISHED else None, run_id))
        if not cursor.rowcount:
            raise self._unknown(run_id)

    def rename(self, run_id: str, name: str) -> None:
        with self._write() as db:
            if not db.execute("UPDATE runs SET name=? WHERE id=?", (_clean_name(name), run_id)).rowcount:
                raise self._unknown(run_id)

    def delete(self, run_ids: str | Iterable[str], force: bool = False) -> None:
        """Remove runs, everything stored with them, and their weights files. Active runs need `force`."""
        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        rows = {r["id"]: r for r in self._rows(ids)}
        for rid in ids:
            if rid not in rows:
                raise self._unknown(rid)
            if rows[rid]["status"] in ACTIVE and not force:
                raise StoreError(f"run {rid} is {rows[rid]['status']}; cancel it before deleting it")
        with self._write() as db:
            db.executemany("DELETE FROM runs WHERE id=?", [(rid,) for rid in ids])
        for rid in ids:
            if rows[rid]["weights"]:
                (self.home / "weights" / rows[rid]["weights"]).unlink(missing_ok=True)

    def request_cancel(self, run_id: str) -> None:
        """Ask whoever trains `run_id` to stop (its worker looks at most every half second)."""
        with self._write() as db:
            if not db.execute("UPDATE runs SET cancel=1 WHERE id=?", (run_id,)).rowcount:
                raise self._unknown(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        row = self._db().execute("SELECT cancel FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return bool(row[0])

    def mark_interrupted(self) -> list[str]:
        """Runs left `queued`/`running` by a process that is gone become `interrupted` -> their ids."""
        rows = self._db().execute("SELECT id, status, owner, worker FROM runs WHERE status IN ('queued', 'running')")
        gone = [rid for rid, status, owner, worker in rows.fetchall()
                if not process_alive(worker if status == "running" and worker else owner)]
        if gone:
            with self._write() as db:
                db.executemany("UPDATE runs SET status='interrupted', finished=?, error=? WHERE id=? AND status "
                               "IN ('queued', 'running')",
                               [(time.time(), "the process holding this run stopped (server restart or crash); "
                                 "resubmit it to train it again", rid) for rid in gone])
        return gone

    def store_corpus(self, files: dict[str, bytes]) -> tuple[str, str]:
        """Keep uploaded corpus bytes under their content hash -> (spec for DataConfig.corpus, sha256).

        One file is a TSV ("PATH"), two are line-aligned source and target files ("SRC,TGT"), in the
        dict's order. The uploaded names are kept for display only; the files get names the store picks.
        """
        if not isinstance(files, dict) or len(files) not in (1, 2):
            raise StoreError("store_corpus takes one file (a TSV) or two (source, target) as {name: bytes}")
        blobs = list(files.values())
        for upload, blob in zip(files, blobs):
            if not isinstance(blob, (bytes, bytearray, memoryview)):
                raise StoreError(f"corpus file {upload!r}: expected its bytes, got {type(blob).__name__}")
        digests = [hashlib.sha256(blob).hexdigest() for blob in blobs]
        # The same hashes attn.corpus reports, so DataConfig.corpus_sha256 agrees with the loader.
        sha = digests[0] if len(blobs) == 1 else hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()
        names = ["corpus.tsv"] if len(blobs) == 1 else ["source.txt", "target.txt"]
        folder = self.home / "corpora" / sha
        if len(blobs) == 2 and "," in str(folder):
            raise StoreError(f"the run store folder {self.home} has a comma in its path, which a two-file "
                             "corpus spec cannot hold; set ATTN_HOME to a folder without one")
        if not folder.is_dir():
            staging = self.home / "corpora" / f".{sha}.{secrets.token_hex(4)}.tmp"
            staging.mkdir()
            for file_name, blob in zip(names, blobs):
                (staging / file_name).write_bytes(blob)
            try:
                os.replace(staging, folder)
            except OSError:  # another process stored the same bytes first
                for file_name in names:
                    (staging / file_name).unlink(missing_ok=True)
                staging.rmdir()
        spec = ",".join(str(folder / file_name) for file_name in names)
        shown = [_clean_name(str(n))[:100] for n in files]
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO corpora VALUES (?,?,?,?,?)",
                       (sha, spec, json.dumps(shown), sum(len(b) for b in blobs), time.time()))
        return spec, sha

    # -- reading

    def find_cached(self, cfg: RunConfig) -> str | None:
        """A `done` run with the same config key, seed and code version, newest first."""
        row = self._db().execute(
            "SELECT id FROM runs WHERE config_key=? AND seed=? AND code_version=? AND status='done' "
            "ORDER BY finished DESC LIMIT 1", (cfg.key(), cfg.seed, code_version())).fetchone()
        return row[0] if row else None

    def status(self, run_id: str) -> str:
        row = self._db().execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return row[0]

    def config(self, run_id: str) -> RunConfig:
        row = self._db().execute("SELECT config FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return RunConfig.from_dict(json.loads(row[0]))

    def configs(self, run_ids: Sequence[str]) -> dict[str, dict]:
        """{run id: stored config as a dict} of the given runs, in one query; unknown ids are left out."""
        ids = list(run_ids)
        rows = self._db().execute(f"SELECT id, config FROM runs WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {rid: json.loads(config) for rid, config in rows.fetchall()}

    def progress(self, run_id: str) -> dict:
        """What a live watcher shows: status, step of total_steps, epoch, eta, tokens/s, heartbeat."""
        row = self.run(run_id)
        return {k: row[k] for k in ("id", "status", "error", "step", "total_steps", "progress", "epoch", "epochs",
                                    "eta", "tokens_per_s", "heartbeat")}

    _LIST = ("id", "name", "status", "task", "variant", "style", "seed", "created", "started", "finished",
             "train_seconds", "eval_seconds", "params", "step", "total_steps", "epoch", "epochs", "eta",
             "tokens_per_s", "heartbeat", "bleu", "error", "session", "config_key", "code_version")

    def runs(self, status: str | Sequence[str] | None = None, task: str | None = None,
             variant: str | None = None) -> pd.DataFrame:
        """One row per run, newest first, with its live progress (0..1) and overall BLEU."""
        where, args = [], []
        for column, value in (("status", status), ("task", task), ("variant", variant)):
            if value is not None:
                values = [value] if isinstance(value, str) else list(value)
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args += values
        sql = f"SELECT {', '.join(self._LIST)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        frame = pd.DataFrame(self._db().execute(sql + " ORDER BY created DESC", args).fetchall(),
                             columns=list(self._LIST))
        frame.insert(frame.columns.get_loc("total_steps") + 1, "progress", _progress(frame))
        for column in ("created", "started", "finished", "heartbeat"):
            frame[column] = pd.to_datetime(frame[column].map(_local_time), errors="coerce")
        return frame

    def run(self, run_id: str) -> dict:
        """Everything about one run but its curves, buckets and decodes, as JSON-ready values."""
        rows = self._rows([run_id])
        if not rows:
            raise self._unknown(run_id)
        row = rows[0]
        row["config"] = json.loads(row["config"])
        row["overall"] = json.loads(row["overall"]) if row["overall"] else None
        row["cancel"] = bool(row["cancel"])
        row["progress"] = _fraction(row["step"], row["total_steps"], row["status"])
        return row

    def curves(self, run_ids: str | Sequence[str], kind: str = "step") -> pd.DataFrame:
        """Loss curves (one row per step or epoch event) with run_id, name, variant, style, seed."""
        if kind not in ("step", "epoch"):
            raise StoreError(f"curves kind must be 'step' or 'epoch', got {kind!r}")
        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        columns = ["run_id", "name", "variant", "style", "seed", "step", "epoch", "elapsed", "train_loss",
                   "valid_loss", "tokens_per_s"]
        rows = self._db().execute(
            f"SELECT c.run_id, r.name, r.variant, r.style, r.seed, c.step, c.epoch, c.elapsed, c.train_loss, "
            f"c.valid_loss, c.tokens_per_s FROM curves c JOIN runs r ON r.id = c.run_id WHERE c.kind=? AND "
            f"c.run_id IN ({','.join('?' * len(ids))}) ORDER BY c.run_id, c.step, c.epoch", [kind, *ids]).fetchall()
        frame = pd.DataFrame(rows, columns=columns)
        floats = ["elapsed", "train_loss", "valid_loss", "tokens_per_s"]
        frame[floats] = frame[floats].astype(float)
        return frame

    _RUN_IDENTITY = ("run_id", "name", "task", "variant", "style", "seed")

    def buckets(self, run_ids: str | Sequence[str]) -> pd.DataFrame:
        """Per-bucket metrics, one row per run x bucket, with run_id, name, task, variant, style, seed."""
        return bucket_frame(self._bucket_rows(run_ids), identity=self._RUN_IDENTITY)

    def bucket_rows(self, run_id: str) -> list[BucketRow]:
        """One run's bucket rows, in bucket order (empty for a run without results)."""
        return [row for _, row in self._bucket_rows(run_id)]

    def _bucket_rows(self, run_ids: str | Sequence[str]) -> list[tuple[dict, BucketRow]]:
        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        rows = self._db().execute(
            f"SELECT b.run_id, r.name, r.task, r.variant, r.style, r.seed, b.bucket, b.lo, b.hi, b.n, "
            f"{', '.join('b.' + m for m in METRICS)} FROM buckets b JOIN runs r ON r.id = b.run_id "
            f"WHERE b.run_id IN ({','.join('?' * len(ids))}) ORDER BY b.run_id, b.position", ids).fetchall()
        width = len(self._RUN_IDENTITY)
        return [(dict(zip(self._RUN_IDENTITY, row[:width])), BucketRow(*row[width:])) for row in rows]

    def decodes(self, run_id: str, bucket: int | str | None = None) -> list[Decode]:
        """Test sentences with tokens and attention: weights (T_hyp, S) and forced (T_ref, S), float32.

        `bucket` is a bucket index or its label ("5-9"); None returns every sentence.
        """
        self.status(run_id)  # unknown id -> StoreError
        sql, args = "SELECT idx, bucket, src, ref, hyp, weights, weights_t, weights_s, forced, forced_t, " \
                    "forced_s FROM decodes WHERE run_id=?", [run_id]
        if isinstance(bucket, str):
            row = self._db().execute("SELECT position FROM buckets WHERE run_id=? AND bucket=?",
                                     (run_id, bucket)).fetchone()
            if row is None:
                raise StoreError(f"run {run_id} has no bucket {bucket!r}")
            bucket = row[0]
        if bucket is not None:
            sql, args = sql + " AND bucket=?", args + [int(bucket)]
        return [Decode(index=idx, bucket=b, src=json.loads(src), ref=json.loads(ref), hyp=json.loads(hyp),
                       weights=_unpack(w, wt, ws), forced=_unpack(f, ft, fs))
                for idx, b, src, ref, hyp, w, wt, ws, f, ft, fs in self._db().execute(sql + " ORDER BY idx", args)]

    def vocabs(self, run_id: str):
        from attn.data.text import Vocab
        row = self._db().execute("SELECT src, tgt FROM vocabs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"run {run_id} has no stored vocabularies (status {self.status(run_id)})")
        return Vocab.from_list(json.loads(row[0])), Vocab.from_list(json.loads(row[1]))

    def load_model(self, run_id: str):
        """(Seq2Seq in eval mode, src_vocab, tgt_vocab, RunConfig) rebuilt from what is stored."""
        import torch
        from attn.nn.model import Seq2Seq
        cfg = self.config(run_id)
        src_vocab, tgt_vocab = self.vocabs(run_id)
        weights = self._rows([run_id])[0]["weights"]
        if not weights:
            raise StoreError(f"run {run_id} has no stored weights (status {self.status(run_id)})")
        path = self.home / "weights" / weights
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise StoreError(f"run {run_id}: its weights file {path} is missing") from None
        except Exception as exc:  # torch raises many kinds for a foreign or damaged file
            raise StoreError(f"run {run_id}: {path} is not a state_dict file; it was not loaded "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                  for k, v in state.items()):
            raise StoreError(f"run {run_id}: {path} holds a {type(state).__name__}, not a dict of tensors; "
                             "it was not loaded")
        model = Seq2Seq(cfg.model, len(src_vocab), len(tgt_vocab))
        expected = model.state_dict()
        problems = [f"missing {k}" for k in expected if k not in state]
        problems += [f"unexpected {k}" for k in state if k not in expected]
        problems += [f"{k} has shape {tuple(state[k].shape)}, the model needs {tuple(v.shape)}"
                     for k, v in expected.items() if k in state and state[k].shape != v.shape]
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise StoreError(f"run {run_id}: {path} does not fit the model rebuilt from the stored config "
                             f"and vocabularies ({shown}); it was not loaded")
        model.load_state_dict(state)
        return model.eval(), src_vocab, tgt_vocab, cfg

    def export(self, run_ids: str | Sequence[str], fmt: str = "json") -> str:
        """JSON: each run with its config, overall metrics, buckets and curves. CSV: the bucket table."""
        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        runs = [self.run(rid) for rid in ids]  # unknown ids fail before anything is built
        if fmt == "csv":
            return self.buckets(ids).to_csv(index=False)
        if fmt != "json":
            raise StoreError(f"export format must be 'json' or 'csv', got {fmt!r}")
        out = []
        for run in runs:
            rid = run["id"]
            run["buckets"] = [dataclasses.asdict(row) for row in self.bucket_rows(rid)]
            run["curves"] = {kind: _records(self.curves(rid, kind).iloc[:, 5:]) for kind in ("step", "epoch")}
            out.append(run)
        return json.dumps(out, indent=1, allow_nan=False)

    # -- helpers

    def _rows(self, ids: Sequence[str]) -> list[dict]:
        cursor = self._db().execute(f"SELECT * FROM runs WHERE id IN ({','.join('?' * len(ids))})", list(ids))
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _unknown(self, run_id: str) -> StoreError:
        return StoreError(f"no run with id {run_id!r} in {self.path}")

    def _task_name(self, cfg: RunConfig) -> str:
        """The built-in task, or an imported corpus by the names it was uploaded under."""
        if not cfg.data.corpus:
            return cfg.data.task
        if cfg.data.corpus_sha256:
            row = self._db().execute("SELECT names FROM corpora WHERE sha256=?", (cfg.data.corpus_sha256,)).fetchone()
            if row:
                return "+".join(json.loads(row[0]))
        return "+".join(os.path.basename(p.strip()) for p in cfg.data.corpus.split(","))

    def _write_weights(self, file_name: str, state: dict) -> None:
        import torch
        final = self.home / "weights" / file_name
        temporary = final.with_name(f".{file_name}.{secrets.token_hex(4)}.tmp")
        try:
            torch.save(state, temporary)
            os.replace(temporary, final)  # readers see the old file or the new one, never half of one
        finally:
            temporary.unlink(missing_ok=True)


class _Transaction:
    """`with store._write() as db:` -- BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

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


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown run status {status!r}; valid: {', '.join(STATUSES)}")


def _clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise StoreError(f"a run name must be text, got {type(name).__name__}")
    cleaned = re.sub(r"[\x00-\x1f\x7f]+", " ", name).strip()
    if not 1 <= len(cleaned) <= 200:
        raise StoreError(f"a run name must have 1 to 200 characters, got {len(cleaned)}")
    return cleaned


def _pack(matrix: np.ndarray | None) -> tuple:
    """A Decode's attention matrix as float16 bytes + its shape (T, S); None stays None."""
    if matrix is None:
        return None, None, None
    array = matrix.astype(np.float16)
    return array.tobytes(), array.shape[0], array.shape[1]


def _unpack(blob, rows, cols):
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.float16).reshape(rows, cols).astype(np.float32)


def _float(value):
    """A float for SQLite and JSON; NaN (an empty bucket) and None become None."""
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def _int(value):
    return None if value is None or value != value else int(value)


def _fraction(step, total, status) -> float | None:
    if status == "done":
        return 1.0
    if step is None or total is None or step != step or total != total or total <= 0:  # None or NaN
        return None
    return min(1.0, step / total)


def _progress(frame: pd.DataFrame) -> list:
    return [_fraction(s, t, st) for s, t, st in zip(frame["step"], frame["total_steps"], frame["status"])]


def _local_time(seconds):
    return None if seconds is None or seconds != seconds else datetime.fromtimestamp(seconds)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in frame.to_dict("records")]
