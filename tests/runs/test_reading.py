"""Reading runs back: models rebuilt from their weights, frames for charts, records, exports."""
import argparse
import dataclasses
import json

import numpy as np
import pytest
import torch

from attn.config import PRESETS, RunConfig
from attn.runs.store import StoreError
from attn.training.experiment import run

TINY = PRESETS["tiny"]


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
    assert detail.config == TINY.to_dict() and detail.overall["n"] == len(result.decodes)


def test_a_run_without_attention_stores_no_matrices(store):
    cfg = TINY.with_variant("none")
    run_id = store.save_finished(cfg, run(cfg))
    assert all(d.weights is None and d.forced is None for d in store.decodes(run_id))
    assert store.buckets(run_id)["align"].isna().all()


def test_configs_of_many_runs_come_in_one_call(store):
    ids = [store.create_run(TINY.with_variant(v)) for v in ("none", "dot")]
    configs = store.configs([*ids, "nope"])
    assert set(configs) == set(ids)
    assert RunConfig.from_dict(configs[ids[1]]) == TINY.with_variant("dot")


def test_export_gives_json_with_curves_and_csv_with_buckets(store, result):
    run_id = store.save_finished(TINY, result)
    [exported] = json.loads(store.export([run_id]))
    assert exported["id"] == run_id and exported["config"] == TINY.to_dict()
    assert len(exported["buckets"]) == len(result.buckets) and len(exported["curves"]["epoch"]) == 2
    csv = store.export(run_id, fmt="csv").splitlines()
    assert csv[0].startswith("run_id,") and len(csv) == 1 + len(result.buckets)



def test_a_training_run_reads_back_as_a_record_with_its_live_progress(store):
    from attn.records import RunRecord
    from attn.training.events import TrainEvent
    run_id = store.create_run(TINY, session="alice")
    store.set_status(run_id, "running", pid=4242)
    store.record_event(run_id, TrainEvent("start", 0, 100, 0, 2, 0.0))
    store.record_event(run_id, TrainEvent("epoch", 25, 100, 1, 2, 0.5, train_loss=2.0, valid_loss=1.9, eta=1.5))
    record = store.run(run_id)
    assert isinstance(record, RunRecord) and store.progress(run_id) == record
    assert (record.status, record.session, record.pid, record.step, record.total_steps, record.epoch,
            record.epochs, record.progress) == ("running", "alice", 4242, 25, 100, 1, 2, 0.25)
    assert record.config == TINY.to_dict() and record.overall is None and record.cancel is False
    assert record.bleu is None and record.finished is None and record.train_range == (None, None)
    store.request_cancel(run_id)
    assert store.run(run_id).cancel is True


def test_a_done_run_reads_back_as_a_record_with_its_results(store, result):
    run_id = store.save_finished(TINY, result)
    record = store.run(run_id)
    assert (record.id, record.status, record.variant, record.seed, record.progress) == (
        run_id, "done", TINY.model.variant, TINY.seed, 1.0)
    assert record.params == result.params and record.weights == f"{run_id}.pt" and record.error is None
    assert record.overall["n"] == len(result.decodes) and record.bleu == pytest.approx(record.overall["bleu"])
    assert record.train_range == result.train_range and record.finished >= record.created


def test_status_counts_in_sql_equal_the_counts_of_the_run_table(store, result):
    from attn.viz.tables import status_counts

    assert store.status_counts() == {}
    store.save_finished(TINY, result)
    queued, running, failed = (store.create_run(dataclasses.replace(TINY, seed=s)) for s in (1, 2, 3))
    store.set_status(running, "running")
    store.set_status(failed, "failed", error="boom")
    counts = store.status_counts()
    assert list(counts.items()) == [("queued", 1), ("running", 1), ("done", 1), ("failed", 1)]
    assert counts == status_counts(store.runs())
