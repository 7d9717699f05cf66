"""attn.viz.length: a metric by source-length bucket and the length histogram, through to_dict()."""
import pytest

from attn.viz import length
from tests.viz.specs import bucket_frame, encodings, marks, rows


def test_metric_by_bucket_orders_buckets_by_lo_not_alphabetically():
    spec = length.metric_by_bucket(bucket_frame(), "bleu").to_dict()
    xs = [enc for enc in encodings(spec, "x") if enc.get("field") == "bucket"]
    assert xs and all(enc["sort"] == ["1-9", "10-19", "20-29", "30", "100-120"] for enc in xs)


def test_metric_by_bucket_plots_the_mean_over_seeds_with_tooltips():
    spec = length.metric_by_bucket(bucket_frame(), "bleu").to_dict()
    data = [r for r in rows(spec) if r["variant"] == "additive" and r["bucket"] == "1-9"]
    assert len(data) == 1 and data[0]["mean"] == pytest.approx(31.0) and data[0]["seeds"] == 3
    assert data[0]["std"] == pytest.approx(1.0)
    tips = {t["field"] for enc in encodings(spec, "tooltip") for t in enc}
    assert {"n", "mean", "std", "seeds"} <= tips
    assert any(enc.get("title") == "BLEU" for enc in encodings(spec, "y"))


def test_error_band_only_with_two_or_more_seeds():
    many = length.metric_by_bucket(bucket_frame(seeds=(0, 1)), "bleu").to_dict()
    one = length.metric_by_bucket(bucket_frame(seeds=(0,)), "bleu").to_dict()
    assert "area" in marks(many) and "area" not in marks(one)
    assert "min–max" in many["title"]["subtitle"]
    std = length.metric_by_bucket(bucket_frame(), "bleu", band="std").to_dict()
    assert "std" in std["title"]["subtitle"]


def test_metric_labels_and_null_metrics():
    spec = length.metric_by_bucket(bucket_frame(), "align").to_dict()
    assert {r["variant"] for r in rows(spec)} == {"additive", "dot"}  # the no-attention runs have no score
    assert any(enc.get("title") == "alignment score (%)" for enc in encodings(spec, "y"))
    frame = bucket_frame().assign(aer=None)
    assert "no AER (%)" in str(length.metric_by_bucket(frame, "aer").to_dict())


def test_length_histogram_draws_a_rule_per_edge():
    spec = length.length_histogram([1, 2, 2, 5, 9, 12], [1, 5, 13]).to_dict()
    assert marks(spec) == ["rect", "rule", "text"]
    edges = [r["edge"] for r in rows(spec) if "edge" in r]
    assert edges == [0.5, 4.5, 12.5]
    labels = {r["label"]: r["n"] for r in rows(spec) if "label" in r}
    assert labels == {"1-4": 3, "5-12": 3}
