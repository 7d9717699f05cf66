"""RunStore's writing half: new runs, live training events, finished results, statuses, deletions, corpora.

Training steps are buffered and written in one transaction at most every `flush_seconds` and at
every epoch, so a training step barely notices the store. A finished run's results are written in
the same transaction as its `done` status, and its weights file atomically (temp file + os.replace):

    weights/<id>.pt     each finished run's state_dict
    corpora/<sha256>/   imported corpora, stored by content hash under file names the store chooses
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import sqlite3
import time
from typing import Iterable, Sequence

import numpy as np

from attn.config import RunConfig
from attn.runs.processes import process_alive, process_token
from attn.runs.schema import ACTIVE, FINISHED, STATUSES, StoreError, clean_name
from attn.runs.version import code_version


class RunWriter:
    """The methods of RunStore that write. Mixed into RunStore, which provides `home`, `path`,
    `flush_seconds`, the event buffers, `_db()`, `_write()`, `_rows()`, `_unknown()` and `status()`."""

    def create_run(self, cfg: RunConfig, name: str | None = None, session: str | None = None,
                   status: str = "queued", owner: str | None = None) -> str:
        """A new run in the store -> its id; `owner` (default: this process) holds it until it runs."""
        _check_status(status)
        label, seed = cfg.model.label, cfg.seed  # the `variant` column holds the model label (MODEL_ORDER)
        task = self._task_name(cfg)
        name = clean_name(name) if name is not None else f"{task} {label} seed {seed}"
        for _ in range(10):
            run_id = secrets.token_hex(4)
            try:
                with self._write() as db:
                    db.execute(
                        "INSERT INTO runs (id, name, status, task, variant, style, seed, config, config_key, "
                        "code_version, session, created, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (run_id, name, status, task, label, cfg.model.style, seed,
                         json.dumps(cfg.to_dict()), cfg.key(), code_version(), session, time.time(),
                         owner or process_token()))
                return run_id
            except sqlite3.IntegrityError:
                continue  # the one-in-four-billion id clash: draw another
        raise StoreError("could not draw an unused run id")

    def create_runs(self, configs: Sequence[RunConfig], names: Sequence[str | None] | None = None,
                    session: str | None = None, status: str = "queued", owner: str | None = None) -> list[str]:
        """Several new runs in ONE transaction -> their ids, in order: all of them are stored, or none."""
        _check_status(status)
        configs = list(configs)
        names = [None] * len(configs) if names is None else list(names)
        if len(names) != len(configs):
            raise StoreError(f"create_runs got {len(configs)} configs and {len(names)} names; give one per config")
        version, owner = code_version(), owner or process_token()
        for _ in range(10):
            ids = [secrets.token_hex(4) for _ in configs]
            if len(set(ids)) < len(ids):
                continue
            try:
                with self._write() as db:  # rows are built inside: a failure at any of them stores none
                    for run_id, cfg, name in zip(ids, configs, names):
                        task = self._task_name(cfg)
                        label = cfg.model.label  # the `variant` column holds the model label (MODEL_ORDER)
                        name = clean_name(name) if name is not None else f"{task} {label} seed {cfg.seed}"
                        db.execute(
                            "INSERT INTO runs (id, name, status, task, variant, style, seed, config, config_key, "
                            "code_version, session, created, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            (run_id, name, status, task, label, cfg.model.style, cfg.seed,
                             json.dumps(cfg.to_dict()), cfg.key(), version, session, time.time(), owner))
                return ids
            except sqlite3.IntegrityError:
                continue  # an id clash: draw them all again
        raise StoreError("could not draw unused run ids")

    def record_event(self, run_id: str, event) -> None:
        """Buffer one TrainEvent; written at most every `flush_seconds`, and at once at start/epoch/end.
        A checkpoint event's Checkpoint is stored at once, thinned (CheckpointStore.record_checkpoint)."""
        if event.kind == "checkpoint":
            self.record_checkpoint(run_id, event.payload)
            return
        if event.kind == "end":
            self.forget_checkpoints(run_id)
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
        overall = {k: _int(v) if k in ("n", "train_min_len", "train_max_len") else _float(v)
                   for k, v in result.overall.items()}
        overall.update({k: str(v) for k, v in getattr(result, "signatures", {}).items()})  # sacrebleu's, as text
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
            if not db.execute("UPDATE runs SET name=? WHERE id=?", (clean_name(name), run_id)).rowcount:
                raise self._unknown(run_id)

    def delete(self, run_ids: str | Iterable[str], force: bool = False) -> None:
        """Remove runs, everything stored with them, and their weights files. Active runs need `force`.

        Their curves, buckets, decodes, vocabularies and places in studies go with them (the schema's
        ON DELETE CASCADE); a study keeps its other runs."""
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
        shown = [clean_name(str(n))[:100] for n in files]
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO corpora VALUES (?,?,?,?,?)",
                       (sha, spec, json.dumps(shown), sum(len(b) for b in blobs), time.time()))
        return spec, sha

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


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown run status {status!r}; valid: {', '.join(STATUSES)}")


def _pack(matrix: np.ndarray | None) -> tuple:
    """A Decode's attention matrix as float16 bytes + its shape (T, S); None stays None."""
    if matrix is None:
        return None, None, None
    array = matrix.astype(np.float16)
    return array.tobytes(), array.shape[0], array.shape[1]


def _float(value):
    """A float for SQLite and JSON; NaN (an empty bucket) and None become None."""
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def _int(value):
    return None if value is None or value != value else int(value)
