"""The run store: every run's config, curves, metrics, test decodes and weights, kept across restarts.

One data folder (`ATTN_HOME`, default ./runs), created on first use:
    runs.sqlite         SQLite in WAL mode: readers never wait for the writer, writers take turns
    weights/<id>.pt     each finished run's state_dict, written atomically (temp file + os.replace)
    corpora/<sha256>/   imported corpora, stored by content hash under file names the store chooses

Every process and every thread opens its own connection; job workers, the CLI and the dashboard may
write at the same time. `RunStore` is assembled from its parts:
    schema.py       folder, tables, migrations, connections and transactions
    processes.py    which process holds a run, and whether it still runs
    writing.py      RunWriter: new runs, training events, results, statuses, deletions, corpora
    reading.py      RunReader: frames, records, models and exports
    studies.py      StudyStore: the runs one click asked for (add_study, study, studies)
    checkpoint_store.py  CheckpointStore: checkpoints while training (record_checkpoint, checkpoints)
Callers import everything from here.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from typing import Sequence

from attn.runs.checkpoint_store import CheckpointStore
from attn.runs.processes import process_alive, process_token
from attn.runs.reading import RunReader
from attn.runs.studies import Study, StudyStore
from attn.runs.schema import (ACTIVE, DB_NAME, FINISHED, MIGRATIONS, SCHEMA_VERSION, STATUSES, StoreError,
                              Transaction, connect, home, migrate)
from attn.runs.writing import RunWriter

__all__ = ["RunStore", "StoreError", "Study", "home", "STATUSES", "ACTIVE", "FINISHED", "DB_NAME", "MIGRATIONS",
           "SCHEMA_VERSION", "process_token", "process_alive"]


class RunStore(RunWriter, RunReader, StudyStore, CheckpointStore):
    """The runs in one data folder. Cheap to create; safe to use from many threads and processes."""

    def __init__(self, path: str | os.PathLike | None = None, flush_seconds: float = 0.5):
        self.home = home(path)
        self.path = self.home / DB_NAME
        self.flush_seconds = flush_seconds  # step rows wait at most this long before being written
        self._local = threading.local()
        self._buffers: dict[str, dict] = {}
        self._buffer_lock = threading.Lock()
        self._thinners = {}  # run id -> Thinner of the checkpoints this process records (checkpoint_store)
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
            db = connect(self.path)
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def _write(self) -> Transaction:
        """`with self._write() as db:` -- one write transaction on this thread's connection."""
        return Transaction(self._db())

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _migrate(self) -> None:
        migrate(self._db(), self.path)

    def schema_version(self) -> int:
        return self._db().execute("PRAGMA user_version").fetchone()[0]

    def version(self) -> str:
        """A token that changes whenever a run is added, deleted or renamed or changes status, or a study is added.

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

    # -- helpers of both halves

    def _rows(self, ids: Sequence[str]) -> list[dict]:
        cursor = self._db().execute(f"SELECT * FROM runs WHERE id IN ({','.join('?' * len(ids))})", list(ids))
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _unknown(self, run_id: str) -> StoreError:
        return StoreError(f"no run with id {run_id!r} in {self.path}")
