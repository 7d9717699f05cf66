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


# ---- train short, test long: unseen buckets and buckets too small to trust -----------------------

def _layers_with(spec, mark):
    return [layer for layer in spec["layer"] if marks(layer) == [mark]]


def test_without_unseen_buckets_or_small_ones_the_chart_is_as_before():
    frame = bucket_frame().assign(n=length.MIN_SENTENCES)
    plain = length.metric_by_bucket(frame, "bleu").to_dict()
    assert length.metric_by_bucket(frame.assign(unseen=False), "bleu").to_dict() == plain
    assert length.metric_by_bucket(frame.assign(unseen=None), "bleu").to_dict() == plain
    assert marks(plain) == ["area", "line", "point"] and "shaded" not in plain["title"]["subtitle"]
    assert not {"unseen", "few", "note"} & {key for row in rows(plain) for key in row}
    assert all("scale" not in enc for enc in encodings(plain, "x"))
    assert list(length.bucket_summary(frame.assign(unseen=False), "bleu").columns) == \
        list(length.bucket_summary(frame, "bleu").columns)


def _unseen_frame(past=29):
    frame = bucket_frame().assign(n=50)
    return frame.assign(unseen=frame["lo"] > past)


def test_unseen_buckets_are_shaded_and_a_rule_ends_the_last_seen_bucket():
    spec = length.metric_by_bucket(_unseen_frame(), "bleu").to_dict()   # 30 and 100-120 lie past 29
    shade, = _layers_with(spec, "rect")
    assert [r["bucket"] for r in spec["datasets"][shade["data"]["name"]]] == ["30", "100-120"]
    assert shade["encoding"]["tooltip"][1]["field"] == "note"
    rule, = _layers_with(spec, "rule")
    assert [r["bucket"] for r in spec["datasets"][rule["data"]["name"]]] == ["20-29"]
    assert rule["encoding"]["x"]["bandPosition"] == 1                    # at the end of its band
    text, = _layers_with(spec, "text")
    assert list(spec["datasets"][text["data"]["name"]]) == [{"bucket": "30", "note": length.UNSEEN_NOTE}]
    assert any(enc.get("scale", {}).get("type") == "band" for enc in encodings(spec, "x"))
    assert length.UNSEEN_NOTE in spec["title"]["subtitle"]
    assert marks(spec).index("rect") < marks(spec).index("line")         # drawn behind the lines


def test_when_every_bucket_is_unseen_there_is_no_rule():
    spec = length.metric_by_bucket(_unseen_frame(past=0), "bleu").to_dict()
    assert "rect" in marks(spec) and "rule" not in marks(spec)


def test_a_bucket_unseen_for_only_some_runs_is_not_shaded():
    frame = _unseen_frame()
    frame.loc[(frame["bucket"] == "30") & (frame["seed"] == 0), "unseen"] = False
    assert length.bucket_summary(frame, "bleu").groupby("bucket")["unseen"].all().to_dict() == {
        "1-9": False, "10-19": False, "20-29": False, "30": False, "100-120": True}
    spec = length.metric_by_bucket(frame, "bleu").to_dict()
    shade, = _layers_with(spec, "rect")
    assert [r["bucket"] for r in spec["datasets"][shade["data"]["name"]]] == ["100-120"]


def test_buckets_of_fewer_than_30_sentences_are_hollow_with_a_note():
    frame = bucket_frame().assign(n=length.MIN_SENTENCES)
    frame.loc[frame["bucket"] == "30", "n"] = 7
    frame.loc[frame["bucket"] == "1-9", "n"] = length.MIN_SENTENCES - 1
    spec = length.metric_by_bucket(frame, "bleu").to_dict()
    points = _layers_with(spec, "point")
    filled = [p for p in points if p["mark"]["filled"]]
    hollow = [p for p in points if not p["mark"]["filled"]]
    assert len(filled) == len(hollow) == 1
    assert filled[0]["transform"] == [{"filter": "!datum.few"}] and hollow[0]["transform"] == [{"filter": "datum.few"}]
    assert hollow[0]["mark"]["opacity"] < 1
    assert "note" in {t["field"] for t in hollow[0]["encoding"]["tooltip"]}
    notes = {r["bucket"]: r["note"] for r in rows(spec) if "note" in r and r.get("variant") == "dot"}
    assert notes == {"1-9": "n = 29: too few sentences to trust", "10-19": "", "20-29": "",
                     "30": "n = 7: too few sentences to trust", "100-120": ""}
    assert "hollow: fewer than 30 sentences" in spec["title"]["subtitle"]


def test_the_caption_names_the_model_that_falls_most_in_these_runs_not_the_textbook():
    frame = bucket_frame(variants=("none", "additive", "dot"))
    frame = frame.assign(n=100, bleu=[80.0 - 0.5 * lo if v == "dot" else 50.0 for v, lo in zip(frame["variant"], frame["lo"])])
    text = length.describe_by_length(length.bucket_summary(frame, "bleu"), "bleu")
    assert "**dot** falls most" in text and "(79.5 → 30.0 BLEU, source lengths 1-9 → 100-120)" in text


def test_the_caption_leaves_out_and_names_buckets_too_small_to_trust():
    frame = bucket_frame(variants=("none", "dot"))
    frame = frame.assign(n=[7 if lo == 100 else 187 for lo in frame["lo"]])  # issue 17: n = 7 scored 0.0
    text = length.describe_by_length(length.bucket_summary(frame, "bleu"), "bleu")
    assert "1-9 → 30)" in text and "left out of that comparison: 100-120 (n = 7)" in text


def test_a_chart_of_rnns_and_transformers_gives_parameter_counts_and_whether_they_are_within_20_percent():
    frame = bucket_frame(variants=("none", "dec·rope"))
    close = length.metric_by_bucket(frame, "bleu", params={"dec·rope": 11_500, "none": 10_000}).to_dict()
    assert "parameters: none 10.0k, dec·rope 11.5k (within 20% of each other)" in close["title"]["subtitle"]
    far = length.metric_by_bucket(frame, "bleu", params={"none": 10_000, "dec·rope": 30_000}).to_dict()
    assert "NOT within 20%: the largest has 3.0x the smallest" in str(far["title"]["subtitle"])
    rnn_only = length.metric_by_bucket(bucket_frame(), "bleu", params={"none": 10_000, "dot": 30_000}).to_dict()
    assert "parameters" not in str(rnn_only["title"]["subtitle"])
