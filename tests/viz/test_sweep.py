"""attn.viz.sweep: a metric of one length bucket against the swept field, through to_dict()."""
import pandas as pd
import pytest

from attn.viz import sweep
from tests.viz.specs import encodings, marks, rows

BUCKETS = (("1-9", 1, 9), ("10-19", 10, 19), ("20-29", 20, 29))


def points(seeds=(0, 1, 2), variants=("dot", "none", "additive"), hidden=(32, 64, 128, 256)) -> pd.DataFrame:
    """One row per run x bucket; the longest bucket's BLEU is hidden / 10 + seed (+ 50 with attention)."""
    records = []
    for variant in variants:
        for seed in seeds:
            for h in hidden:
                run_id = f"{variant}-{seed}-{h}"
                for bucket, lo, hi in BUCKETS:
                    bleu = h / 10 + seed + (50 if variant != "none" else 0) if lo == 20 else 90.0
                    records.append({"run_id": run_id, "variant": variant, "seed": seed, "bucket": bucket, "lo": lo,
                                    "hi": hi, "n": 40, "bleu": bleu, "chrf": bleu + 5, "hidden": h})
    return pd.DataFrame(records).sample(frac=1, random_state=0)


def test_one_line_per_variant_in_canonical_order_against_the_swept_field():
    spec = sweep.metric_by_field(points(), "hidden").to_dict()
    assert marks(spec).count("line") == 1
    colours = [enc for enc in encodings(spec, "color") if enc.get("field") == "variant"]
    assert colours and all(enc["legend"]["values"] == ["none", "additive", "dot"] for enc in colours)
    assert {r["variant"] for r in rows(spec)} == {"none", "additive", "dot"}
    assert any(enc.get("field") == "hidden" and enc["type"] == "quantitative" for enc in encodings(spec, "x"))


def test_the_longest_bucket_by_default_with_the_mean_and_min_max_over_seeds():
    spec = sweep.metric_by_field(points(), "hidden").to_dict()
    data = [r for r in rows(spec) if r["variant"] == "dot" and r["hidden"] == 64]
    assert len(data) == 1 and data[0]["panel"] == "longest bucket (20-29)"
    assert data[0]["mean"] == pytest.approx(6.4 + 1 + 50) and (data[0]["min"], data[0]["max"]) == (56.4, 58.4)
    assert (data[0]["band_lo"], data[0]["band_hi"]) == (56.4, 58.4) and data[0]["seeds"] == 3


def test_a_band_over_seeds_says_which_and_none_with_one_seed():
    minmax = sweep.metric_by_field(points(), "hidden").to_dict()
    std = sweep.metric_by_field(points(), "hidden", band="std").to_dict()
    one = sweep.metric_by_field(points(seeds=(0,)), "hidden").to_dict()
    assert "area" in marks(minmax) and "area" in marks(std) and "area" not in marks(one)
    assert minmax["title"]["subtitle"] == "mean over 3 seeds; band: min–max over seeds"
    assert std["title"]["subtitle"] == "mean over 3 seeds; band: ±1 std over seeds"
    assert one["title"]["subtitle"] == "one seed per cell (no spread shown)"
    row = next(r for r in rows(std) if r["variant"] == "dot" and r["hidden"] == 64)
    assert row["band_lo"] == pytest.approx(row["mean"] - 1.0) and row["band_hi"] == pytest.approx(row["mean"] + 1.0)


def test_sizes_get_a_log_axis_and_other_fields_a_linear_one():
    hidden = sweep.metric_by_field(points(), "hidden").to_dict()
    assert any(enc.get("scale", {}).get("type") == "log" for enc in encodings(hidden, "x"))
    lr = points().rename(columns={"hidden": "lr"}).assign(lr=lambda f: f["lr"] / 1e4)
    spec = sweep.metric_by_field(lr, "lr").to_dict()
    assert not any(enc.get("scale", {}).get("type") == "log" for enc in encodings(spec, "x"))


def test_any_bucket_and_metric_one_panel_each():
    spec = sweep.metric_by_field(points(), "hidden", "chrf", ["longest", "1-9"]).to_dict()
    assert spec["facet"]["sort"] == ["longest bucket (20-29)", "bucket 1-9"]
    assert {r["mean"] for r in rows(spec) if r["panel"] == "bucket 1-9"} == {95.0}
    with pytest.raises(ValueError, match=r"bucket '5-6' is not among these runs' buckets; valid: longest, shortest, "
                                         r"1-9, 10-19, 20-29"):
        sweep.metric_by_field(points(), "hidden", buckets=["5-6"])


def test_longest_is_each_runs_last_bucket_when_the_edges_differ():
    frame = points(variants=("dot",), seeds=(0,), hidden=(32,))
    other = frame.assign(run_id="x", hidden=64, bucket=frame["bucket"] + "!", bleu=7.0)
    picked = sweep.pick_bucket(pd.concat([frame, other]), "longest")
    assert sorted(picked["bucket"]) == ["20-29", "20-29!"] and set(picked["panel"]) == {"longest bucket"}


def test_no_finished_cell_says_so():
    assert "no BLEU for these cells yet" in str(sweep.metric_by_field(points().iloc[:0], "hidden").to_dict())


def test_the_cells_table_counts_done_cells_per_value_and_variant():
    cells = points().drop_duplicates("run_id")[["run_id", "variant", "seed", "hidden"]].assign(status="done", bleu=40.0)
    cells.loc[(cells["hidden"] == 32) & (cells["variant"] == "dot") & (cells["seed"] == 2), "status"] = "running"
    table = sweep.cells_table(cells, "hidden")
    assert list(table.columns) == ["hidden", "none", "additive", "dot"] and list(table["hidden"]) == [32, 64, 128, 256]
    row = table[table["hidden"] == 32].iloc[0]
    assert row["dot"] == "done 2/3 · BLEU 40.0 · 1 to go" and row["none"] == "done 3/3 · BLEU 40.0"
