"""Studies: the runs one click asked for, kept together so a page can show them as one experiment.

The Lecture demo, "Train short, test long", the Train form and the CLI each queue several runs at once,
some answered from the run cache; `add_study` records which runs that was, in the order asked, under a
name and a kind. Deleting a run takes it out of its studies (the schema's foreign key); the study stays.
"""
from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # pandas loads with the first table read, not with the store (a first page view)
    import pandas as pd

from attn.runs.schema import StoreError, clean_name

# Where a study comes from: the Lecture demo, "Train short, test long", the Train form, `python -m attn`,
# a sweep (attn.runs.sweep: its cells, from the Sweep page or `python -m attn sweep`).
STUDY_KINDS = ("lecture", "length", "train", "cli", "sweep")


@dataclass(frozen=True)
class Study:
    """The runs one click asked for."""

    id: str                     # 12 hex characters
    name: str                   # what the click was called, e.g. "Lecture demo"
    kind: str                   # one of STUDY_KINDS
    created: str                # ISO 8601 local time with its UTC offset, to the second
    run_ids: tuple[str, ...]    # the runs still stored, in the order they were asked for


class StudyStore:
    """The study methods of RunStore, which provides `path`, `_db()`, `_write()` and `_rows()`."""

    def add_study(self, name: str, kind: str, run_ids: Sequence[str]) -> str:
        """Record that one click asked for `run_ids` (queued or answered from the cache) -> the study's id.

        A run named twice is kept once, at its first place. Every run must be in the store.
        """
        name, kind, ids = clean_name(name, "study"), _check_kind(kind), _check_run_ids(run_ids)
        known = {row["id"] for row in self._rows(ids)}
        missing = [rid for rid in ids if rid not in known]
        if missing:
            raise StoreError(f"study {name!r}: no run with id {', '.join(map(repr, missing))} in {self.path}")
        for _ in range(10):
            study_id = secrets.token_hex(6)
            try:
                with self._write() as db:
                    db.execute("INSERT INTO studies (id, name, kind, created) VALUES (?,?,?,?)",
                               (study_id, name, kind, time.time()))
                    db.executemany("INSERT INTO study_runs (study_id, run_id, position) VALUES (?,?,?)",
                                   [(study_id, rid, position) for position, rid in enumerate(ids)])
                return study_id
            except sqlite3.IntegrityError as exc:
                if "studies.id" not in str(exc):
                    raise StoreError(f"study {name!r}: a run was deleted while the study was stored ({exc})") from None
        raise StoreError("could not draw an unused study id")

    def study(self, study_id: str) -> Study:
        """One study with the runs it still holds; an unknown id is an error naming it."""
        db = self._db()
        row = db.execute("SELECT id, name, kind, created FROM studies WHERE id=?", (study_id,)).fetchone()
        if row is None:
            raise StoreError(f"no study with id {study_id!r} in {self.path}")
        run_ids = db.execute("SELECT run_id FROM study_runs WHERE study_id=? ORDER BY position", (study_id,))
        return Study(row[0], row[1], row[2], _iso(row[3]), tuple(r[0] for r in run_ids.fetchall()))

    def studies(self, kind: str | None = None) -> pd.DataFrame:
        """One row per study (of `kind`, or all), newest first: id, name, kind, created, runs (a count)."""
        import pandas as pd

        sql = ("SELECT s.id, s.name, s.kind, s.created, COUNT(r.run_id) FROM studies s LEFT JOIN study_runs r "
               "ON r.study_id = s.id")
        args = []
        if kind is not None:
            sql += " WHERE s.kind = ?"
            args.append(_check_kind(kind))
        rows = self._db().execute(sql + " GROUP BY s.id ORDER BY s.created DESC, s.rowid DESC", args).fetchall()
        frame = pd.DataFrame(rows, columns=["id", "name", "kind", "created", "runs"])
        frame["created"] = pd.to_datetime(frame["created"].map(datetime.fromtimestamp))  # local time, as runs()
        frame["runs"] = frame["runs"].astype(int)
        return frame


def _check_kind(kind: str) -> str:
    if kind not in STUDY_KINDS:
        raise StoreError(f"study kind {kind!r} is not one of: {', '.join(STUDY_KINDS)}")
    return kind


def _check_run_ids(run_ids: Sequence[str]) -> list[str]:
    """The ids as a list without repeats; a single string or a non-text id is an error naming it."""
    if isinstance(run_ids, (str, bytes)) or not isinstance(run_ids, Iterable):
        raise StoreError(f"a study's run_ids must be a list of run ids, got {type(run_ids).__name__} {run_ids!r}")
    run_ids = list(run_ids)
    wrong = [rid for rid in run_ids if not isinstance(rid, str)]
    if wrong:
        raise StoreError(f"a study's run ids must be text, got {wrong[0]!r} ({type(wrong[0]).__name__})")
    if not run_ids:
        raise StoreError("a study needs at least one run id, got none")
    return list(dict.fromkeys(run_ids))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")
