"""RunStore's checkpoints: what a run looked like while it trained, written as its checkpoint events come.

    record_checkpoint(run_id, checkpoint)   store one, thinned: at most MAX_CHECKPOINTS per run stay, the
                                            first and the newest always (attn.training.checkpoints.Thinner)
    checkpoints(run_id) -> [Checkpoint]     ordered by step; [] for a run without (trained before they existed,
                                            or with train.checkpoints off)
    checkpoint(run_id, step=None)           one of them (None: the newest), or None
    checkpoint_buckets(run_ids) -> frame    every checkpoint's bucket metrics, no maps (the live chart's rows)
    checkpoint_alignment(run_ids) -> frame  mean probe alignment per checkpoint (the loss chart's mark)

Checkpoints reach the store through `recorder(run_id)` like every other TrainEvent (kind "checkpoint",
the Checkpoint as its payload), the path a worker, the CLI and a cluster's replayed events all take.
Probe maps are float16 .npy bytes (encode_map): about 3 significant digits of weights in [0, 1].
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pandas loads with the first table read, not with the store (a first page view)
    import pandas as pd

from attn.records import BucketScore, Checkpoint, ProbeMap
from attn.runs.schema import StoreError
from attn.training.checkpoints import MAX_CHECKPOINTS, Thinner, decode_map, encode_map


class CheckpointStore:
    """Mixed into RunStore, which provides `_db()`, `_write()`, `status()` and the per-run `_thinners`."""

    checkpoint_limit = MAX_CHECKPOINTS  # checkpoints kept per run

    def record_checkpoint(self, run_id: str, checkpoint: Checkpoint) -> None:
        """Store one checkpoint of a training run (a later step than the stored ones, or the same step to
        replace it) and delete the ones thinning lets go, in one transaction."""
        if not isinstance(checkpoint, Checkpoint):
            raise StoreError(f"run {run_id}: a checkpoint event carries an attn.records.Checkpoint, got "
                             f"{type(checkpoint).__name__}")
        thinner = self._thinner(run_id)
        kept = thinner.kept
        evicted = [] if kept and checkpoint.step == kept[-1] else thinner.add(checkpoint.step)
        buckets = json.dumps([_bucket_json(b) for b in checkpoint.buckets], allow_nan=False)
        probes = [(run_id, checkpoint.step, i, json.dumps(p.src), json.dumps(p.tgt),
                   None if p.weights is None else encode_map(p.weights), p.alignment)
                  for i, p in enumerate(checkpoint.probes)]
        with self._write() as db:
            db.executemany("DELETE FROM checkpoints WHERE run_id=? AND step=?",
                           [(run_id, step) for step in [*evicted, checkpoint.step]])
            db.execute("INSERT INTO checkpoints VALUES (?,?,?,?,?)",
                       (run_id, checkpoint.step, float(checkpoint.epoch), float(checkpoint.seconds), buckets))
            db.executemany("INSERT INTO probe_maps VALUES (?,?,?,?,?,?,?)", probes)

    def _thinner(self, run_id: str) -> Thinner:
        """The run's Thinner: made on its first checkpoint in this process, from the steps already stored
        (a worker restarted, or events replayed by another process, keep thinning where it was)."""
        thinners = self._thinners
        if run_id not in thinners:
            thinner = Thinner(self.checkpoint_limit)
            for (step,) in self._db().execute("SELECT step FROM checkpoints WHERE run_id=? ORDER BY step",
                                              (run_id,)):
                thinner.add(step)
            thinners[run_id] = thinner
        return thinners[run_id]

    def forget_checkpoints(self, run_id: str) -> None:
        """Drop this process's thinning state of a run that ended (its stored checkpoints stay)."""
        self._thinners.pop(run_id, None)

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        """Every stored checkpoint of a run, ordered by step, probe maps as float32; [] for a run without."""
        return self._read_checkpoints(run_id, "")

    def checkpoint(self, run_id: str, step: int | None = None) -> Checkpoint | None:
        """One stored checkpoint of a run: at `step`, or the newest (step None); None when there is none."""
        if step is None:
            found = self._read_checkpoints(run_id, " AND step = (SELECT MAX(step) FROM checkpoints WHERE run_id=?)",
                                           (run_id,))
        else:
            found = self._read_checkpoints(run_id, " AND step = ?", (int(step),))
        return found[0] if found else None

    def _read_checkpoints(self, run_id: str, where: str, args: tuple = ()) -> list[Checkpoint]:
        self.status(run_id)  # an unknown id -> StoreError
        db = self._db()
        maps: dict[int, list[ProbeMap]] = {}
        for step, src, tgt, weights, alignment in db.execute(
                f"SELECT step, src, tgt, weights, alignment FROM probe_maps WHERE run_id=?{where} "
                "ORDER BY step, position", (run_id, *args)):
            maps.setdefault(step, []).append(ProbeMap(json.loads(src), json.loads(tgt),
                                                      None if weights is None else decode_map(weights), alignment))
        return [Checkpoint(step, epoch, seconds, tuple(BucketScore(**b) for b in json.loads(buckets)),
                           tuple(maps.get(step, ())))
                for step, epoch, seconds, buckets in db.execute(
                    f"SELECT step, epoch, seconds, buckets FROM checkpoints WHERE run_id=?{where} ORDER BY step",
                    (run_id, *args))]

    def checkpoint_buckets(self, run_ids: str | Sequence[str]) -> pd.DataFrame:
        """The bucket metrics of every stored checkpoint, no maps: one row per run x checkpoint x bucket,
        columns run_id, step, epoch, seconds, bucket, lo, hi, n and the metrics (what the live chart reads)."""
        import pandas as pd

        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        rows = []
        for run_id, step, epoch, seconds, buckets in self._db().execute(
                f"SELECT run_id, step, epoch, seconds, buckets FROM checkpoints WHERE run_id IN "
                f"({','.join('?' * len(ids))}) ORDER BY run_id, step", ids):
            for b in json.loads(buckets):
                rows.append({"run_id": run_id, "step": step, "epoch": epoch, "seconds": seconds,
                             "bucket": b.pop("label"), **b})
        columns = ["run_id", "step", "epoch", "seconds", "bucket", "lo", "hi", "n", "bleu", "chrf", "exact",
                   "token_acc", "align", "aer"]
        frame = pd.DataFrame(rows, columns=columns)
        frame[columns[-6:]] = frame[columns[-6:]].astype(float)
        return frame

    def checkpoint_alignment(self, run_ids: str | Sequence[str]) -> pd.DataFrame:
        """Mean probe alignment (0..1) per stored checkpoint: columns run_id, step, epoch, seconds, alignment
        (checkpoints whose probes have no gold alignment are left out)."""
        import pandas as pd

        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        rows = self._db().execute(
            f"SELECT c.run_id, c.step, c.epoch, c.seconds, AVG(p.alignment) FROM checkpoints c JOIN probe_maps p "
            f"ON p.run_id = c.run_id AND p.step = c.step WHERE c.run_id IN ({','.join('?' * len(ids))}) "
            f"AND p.alignment IS NOT NULL GROUP BY c.run_id, c.step ORDER BY c.run_id, c.step", ids).fetchall()
        return pd.DataFrame(rows, columns=["run_id", "step", "epoch", "seconds", "alignment"])


def _bucket_json(score: BucketScore) -> dict:
    """A BucketScore as JSON: NaN (an empty bucket's BLEU) as null."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in score.__dict__.items()}
