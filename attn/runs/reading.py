"""RunStore's reading half: runs as frames, one run's record, curves, bucket rows, decodes, models, exports.

Lists and curves come back as tidy DataFrames (what charts take); a run's test sentences as
records.Decode and its buckets as records.BucketRow (records.bucket_frame makes the frame). Every
read runs on this thread's own connection, never waiting for a writer (WAL).
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas loads with the first table read, not with the store (a first page view)
    import pandas as pd

from attn.config import RunConfig
from attn.records import METRICS, BucketRow, Decode, RunRecord, bucket_frame, progress_fraction
from attn.runs.schema import STATUSES, StoreError
from attn.runs.version import code_version


class RunReader:
    """The methods of RunStore that read. Mixed into RunStore, which provides `home`, `path`, `_db()`,
    `_rows()` and `_unknown()`."""

    def find_cached(self, cfg: RunConfig) -> str | None:
        """A `done` run with the same config key, seed and code version, newest first."""
        row = self._db().execute(
            "SELECT id FROM runs WHERE config_key=? AND seed=? AND code_version=? AND status='done' "
            "ORDER BY finished DESC LIMIT 1", (cfg.key(), cfg.seed, code_version())).fetchone()
        return row[0] if row else None

    def status_counts(self) -> dict[str, int]:
        """Runs per status, in the order of STATUSES, zero counts left out (one SQL count: no pandas)."""
        counts = dict(self._db().execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
        return {s: counts[s] for s in STATUSES if counts.get(s)}

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

    def progress(self, run_id: str) -> RunRecord:
        """What a live watcher shows (status, error, step of total_steps, progress, epoch of epochs, eta,
        tokens_per_s, heartbeat), as the worker last wrote them: the run's whole record, since it is one
        read of one row either way; one type for a run, not a second, smaller one."""
        return self.run(run_id)

    _LIST = ("id", "name", "status", "task", "variant", "style", "seed", "created", "started", "finished",
             "train_seconds", "eval_seconds", "params", "step", "total_steps", "epoch", "epochs", "eta",
             "tokens_per_s", "heartbeat", "bleu", "error", "session", "config_key", "code_version")

    def runs(self, status: str | Sequence[str] | None = None, task: str | None = None,
             variant: str | None = None) -> pd.DataFrame:
        """One row per run, newest first, with its live progress (0..1) and overall BLEU."""
        import pandas as pd

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

    def run(self, run_id: str) -> RunRecord:
        """Everything about one run but its curves, buckets and decodes (`record.to_json()`: a dict)."""
        rows = self._rows([run_id])
        if not rows:
            raise self._unknown(run_id)
        return RunRecord.from_row(rows[0])

    def curves(self, run_ids: str | Sequence[str], kind: str = "step") -> pd.DataFrame:
        """Loss curves (one row per step or epoch event) with run_id, name, variant, style, seed."""
        import pandas as pd

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
            f"{', '.join('b.' + m for m in METRICS)}, r.overall FROM buckets b JOIN runs r ON r.id = b.run_id "
            f"WHERE b.run_id IN ({','.join('?' * len(ids))}) ORDER BY b.run_id, b.position", ids).fetchall()
        width = len(self._RUN_IDENTITY)
        # `unseen` follows from the run's training range, kept with its overall metrics (older runs: unknown);
        # each run's overall JSON is read once, not once per bucket
        longest = {overall: _train_max_len(overall) for overall in {row[-1] for row in rows}}
        return [(dict(zip(self._RUN_IDENTITY, row[:width])),
                 BucketRow(*row[width:-1]).past_training(longest[row[-1]])) for row in rows]

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
        """(model in eval mode, src_vocab, tgt_vocab, RunConfig) rebuilt from what is stored."""
        import torch
        from attn.nn.models import build_model
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
        model = build_model(cfg.model, len(src_vocab), len(tgt_vocab))
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
        for record in runs:
            run = record.to_json()
            rid = record.id
            run["buckets"] = [dataclasses.asdict(row) for row in self.bucket_rows(rid)]
            run["curves"] = {kind: _records(self.curves(rid, kind).iloc[:, 5:]) for kind in ("step", "epoch")}
            out.append(run)
        return json.dumps(out, indent=1, allow_nan=False)


def _unpack(blob, rows, cols):
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.float16).reshape(rows, cols).astype(np.float32)


def _progress(frame: pd.DataFrame) -> list:
    return [progress_fraction(s, t, st) for s, t, st in zip(frame["step"], frame["total_steps"], frame["status"])]


def _local_time(seconds):
    return None if seconds is None or seconds != seconds else datetime.fromtimestamp(seconds)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in frame.to_dict("records")]


def _train_max_len(overall: str | None) -> int | None:
    """The longest training source a run saw, from its stored overall metrics; None for older runs."""
    value = json.loads(overall).get("train_max_len") if overall else None
    return None if value is None else int(value)
