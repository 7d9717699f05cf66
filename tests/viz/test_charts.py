"""Chart builders: specs checked through chart.to_dict(), plus a few real renders with vl-convert."""
import math

import numpy as np
import pandas as pd
import pytest

from attn.viz import charts
from attn.viz.charts import VARIANT_COLORS, VARIANT_ORDER

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- helpers

def walk(spec):
    """Every dict inside a Vega-Lite spec, depth first."""
    if isinstance(spec, dict):
        yield spec
        for value in spec.values():
            yield from walk(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from walk(value)


def marks(spec) -> list[str]:
    out = []
    for node in walk(spec):
        mark = node.get("mark")
        if mark is not None:
            out.append(mark if isinstance(mark, str) else mark["type"])
    return out


def encodings(spec, channel: str) -> list[dict]:
    return [node["encoding"][channel] for node in walk(spec)
            if isinstance(node.get("encoding"), dict) and channel in node["encoding"]]


def rows(spec) -> list[dict]:
    """All inline data rows of a spec (Altair moves them to top-level `datasets`)."""
    out = []
    for values in spec.get("datasets", {}).values():
        out.extend(values)
    return out


def bucket_frame(seeds=(0, 1, 2), variants=("none", "additive", "dot")) -> pd.DataFrame:
    edges = [(1, 9), (10, 19), (100, 120), (20, 29), (30, 30)]  # alphabetical order would put 100-120 third
    records = []
    for v_i, variant in enumerate(variants):
        for seed in seeds:
            for lo, hi in edges:
                score = 30 - 0.2 * lo * (v_i == 0) + seed
                records.append({"variant": variant, "seed": seed, "bucket": f"{lo}" if lo == hi else f"{lo}-{hi}",
                                "lo": lo, "hi": hi, "n": 10, "bleu": score, "chrf": score + 20, "exact": 10.0,
                                "token_acc": 80.0, "align": None if variant == "none" else 60.0 + seed,
                                "aer": None if variant == "none" else 40.0})
    return pd.DataFrame(records).sample(frac=1, random_state=0)


def loss_frame(n_steps=20, variants=("none", "additive")) -> pd.DataFrame:
    records = []
    for i, variant in enumerate(variants):
        for step in range(1, n_steps + 1):
            records.append({"run_id": f"run{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                            "step": step, "epoch": 0, "elapsed": step * 0.1, "train_loss": 3.0 / step,
                            "valid_loss": np.nan})
            if step % 10 == 0:
                records.append({"run_id": f"run{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                                "step": step, "epoch": step // 10, "elapsed": step * 0.1,
                                "train_loss": 3.0 / step, "valid_loss": 3.5 / step})
    return pd.DataFrame(records)


# ---------------------------------------------------------------- colours and style

def test_variant_scale_has_fixed_domain_and_okabe_ito_colours():
    scale = charts.variant_scale().to_dict()
    assert scale["domain"] == ["none", "additive", "dot", "general"]
    assert scale["range"] == [VARIANT_COLORS[v] for v in VARIANT_ORDER]
    assert len(set(scale["range"])) == 4


def test_unknown_variant_is_appended_without_moving_the_four_known_ones():
    scale = charts.variant_scale(["dot", "my-variant"]).to_dict()
    assert scale["domain"][:4] == list(VARIANT_ORDER) and scale["domain"][4] == "my-variant"
    assert scale["range"][:4] == [VARIANT_COLORS[v] for v in VARIANT_ORDER]


def test_variant_colours_are_identical_across_builders():
    specs = [charts.metric_by_bucket(bucket_frame(), "bleu").to_dict(),
             charts.loss_curves(loss_frame()).to_dict(),
             charts.loss_curves(loss_frame(), layout="side_by_side").to_dict(),
             charts.live_loss_chart(loss_frame(variants=("general",))).to_dict()]
    scales = {(tuple(enc["scale"]["domain"]), tuple(enc["scale"]["range"]))
              for spec in specs for enc in encodings(spec, "color") if enc.get("field") == "variant"}
    assert scales == {(tuple(VARIANT_ORDER), tuple(VARIANT_COLORS[v] for v in VARIANT_ORDER))}


def test_slide_style_has_white_background_and_larger_fonts():
    screen = charts.metric_by_bucket(bucket_frame(), "bleu", style="screen").to_dict()["config"]
    slide = charts.metric_by_bucket(bucket_frame(), "bleu", style="slide").to_dict()["config"]
    assert slide["background"] == "white" and "background" not in screen
    assert slide["title"]["fontSize"] >= 20 > screen["title"]["fontSize"]
    assert 16 <= slide["axis"]["labelFontSize"] <= 18 and slide["axis"]["labelFontSize"] > screen["axis"]["labelFontSize"]
    assert slide["line"]["strokeWidth"] > screen["line"]["strokeWidth"]


def test_unknown_style_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="screen, slide"):
        charts.metric_by_bucket(bucket_frame(), "bleu", style="poster")


# ---------------------------------------------------------------- metric by bucket

def test_metric_by_bucket_orders_buckets_by_lo_not_alphabetically():
    spec = charts.metric_by_bucket(bucket_frame(), "bleu").to_dict()
    xs = [enc for enc in encodings(spec, "x") if enc.get("field") == "bucket"]
    assert xs and all(enc["sort"] == ["1-9", "10-19", "20-29", "30", "100-120"] for enc in xs)


def test_metric_by_bucket_plots_the_mean_over_seeds_with_tooltips():
    spec = charts.metric_by_bucket(bucket_frame(), "bleu").to_dict()
    data = [r for r in rows(spec) if r["variant"] == "additive" and r["bucket"] == "1-9"]
    assert len(data) == 1 and data[0]["mean"] == pytest.approx(31.0) and data[0]["seeds"] == 3
    assert data[0]["std"] == pytest.approx(1.0)
    tips = {t["field"] for enc in encodings(spec, "tooltip") for t in enc}
    assert {"n", "mean", "std", "seeds"} <= tips
    assert any(enc.get("title") == "BLEU" for enc in encodings(spec, "y"))


def test_error_band_only_with_two_or_more_seeds():
    many = charts.metric_by_bucket(bucket_frame(seeds=(0, 1)), "bleu").to_dict()
    one = charts.metric_by_bucket(bucket_frame(seeds=(0,)), "bleu").to_dict()
    assert "area" in marks(many) and "area" not in marks(one)
    assert "min–max" in many["title"]["subtitle"]
    std = charts.metric_by_bucket(bucket_frame(), "bleu", band="std").to_dict()
    assert "std" in std["title"]["subtitle"]


def test_metric_labels_and_null_metrics():
    spec = charts.metric_by_bucket(bucket_frame(), "align").to_dict()
    assert {r["variant"] for r in rows(spec)} == {"additive", "dot"}  # the no-attention runs have no score
    assert any(enc.get("title") == "alignment score (%)" for enc in encodings(spec, "y"))
    frame = bucket_frame().assign(aer=None)
    assert "no AER (%)" in str(charts.metric_by_bucket(frame, "aer").to_dict())


# ---------------------------------------------------------------- loss curves

def test_smooth_is_an_exponential_moving_average():
    series = pd.Series([1.0, 3.0, 2.0])
    assert charts.smooth(series, 0.5).tolist() == pytest.approx([1.0, 2.0, 2.0])
    assert charts.smooth(series, 0.0).tolist() == [1.0, 3.0, 2.0]
    with_gap = charts.smooth(pd.Series([1.0, np.nan, 3.0]), 0.5)
    assert math.isnan(with_gap[1]) and with_gap[2] == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"\[0, 0.99\]"):
        charts.smooth(series, 1.0)


def test_loss_curves_overlay_encodes_variant_curve_and_run():
    spec = charts.loss_curves(loss_frame(), x="elapsed", log_y=True).to_dict()
    assert {enc["field"] for enc in encodings(spec, "strokeDash")} == {"curve"}
    assert {enc["field"] for enc in encodings(spec, "detail")} == {"run_id"}
    assert any(enc.get("scale", {}).get("type") == "log" for enc in encodings(spec, "y"))
    curves = {r["curve"] for r in rows(spec)}
    assert curves == {"train", "valid"}
    assert sum(r["curve"] == "valid" for r in rows(spec)) == 4  # two epochs for each of two runs


def test_loss_curves_smoothing_is_applied_per_run():
    spec = charts.loss_curves(loss_frame(), smoothing=0.5).to_dict()
    train = [r for r in rows(spec) if r["curve"] == "train" and r["run_id"] == "run1"]
    assert train[0]["loss"] == pytest.approx(3.0) and train[1]["loss"] == pytest.approx(0.5 * 3.0 + 0.5 * 1.5)
    assert train[1]["raw"] == pytest.approx(1.5)


def test_loss_curves_side_by_side_is_one_panel_per_variant_with_shared_y():
    spec = charts.loss_curves(loss_frame(), layout="side_by_side").to_dict()
    assert spec["facet"]["column"]["field"] == "variant"
    assert spec["facet"]["column"]["sort"] == ["none", "additive"]
    assert spec["resolve"]["scale"]["y"] == "shared"


def test_loss_curves_by_epoch_use_epoch_rows_only():
    spec = charts.loss_curves(loss_frame(), x="epoch").to_dict()
    assert sorted({r["x"] for r in rows(spec) if r["curve"] == "train"}) == [1, 2]


def test_long_runs_are_thinned():
    spec = charts.loss_curves(loss_frame(n_steps=3000, variants=("dot",))).to_dict()
    assert len(rows(spec)) <= charts.MAX_POINTS_PER_RUN + 300


def test_live_chart_without_rows_says_it_is_waiting():
    for empty in (None, pd.DataFrame(), loss_frame().iloc[:0]):
        spec = charts.live_loss_chart(empty).to_dict()
        assert marks(spec) == ["text"]
        assert "waiting for the first steps" in rows(spec)[0]["text"]


def test_live_chart_with_one_step_per_run_draws_points_in_panels_per_variant():
    spec = charts.live_loss_chart(loss_frame(n_steps=1)).to_dict()
    assert spec["facet"]["column"]["field"] == "variant"
    assert "point" in marks(spec)
    assert len([r for r in rows(spec) if r["curve"] == "train"]) == 2


# ---------------------------------------------------------------- attention heatmaps

def test_heatmap_has_one_cell_per_pair_and_keeps_repeated_tokens_apart():
    src, out = ["le", "chat", "mange", "le", "poisson"], ["the", "cat", "eats", "the", "fish"]
    weights = np.eye(5)
    spec = charts.attention_heatmap(src, out, weights).to_dict()
    cells = rows(spec)
    assert len(cells) == 25 and len({(c["t"], c["s"]) for c in cells}) == 25
    assert [c["source"] for c in cells if c["t"] == 0] == src          # sentence order, both "le"s
    assert {c["weight"] for c in cells if c["t"] == 3 and c["s"] == 3} == {1.0}
    x = [enc for enc in encodings(spec, "x") if enc["field"] == "s"][0]
    assert x["type"] == "ordinal" and x["sort"] == "ascending"
    assert '"le", "chat", "mange", "le", "poisson"' in x["axis"]["labelExpr"]


def test_heatmap_colour_is_a_zero_to_one_sequential_scale_with_tooltips():
    spec = charts.attention_heatmap(["a", "b"], ["x"], [[0.25, 0.75]]).to_dict()
    color = [enc for enc in encodings(spec, "color") if enc.get("field") == "weight"][0]
    assert color["scale"]["domain"][0] == 0 and color["scale"]["domain"][-1] == 1
    tips = {t["field"]: t for enc in encodings(spec, "tooltip") for t in enc}
    assert tips["weight"]["format"] == ".3f" and {"source", "output"} <= set(tips)


def test_heatmap_gold_layer_only_when_gold_is_given():
    src, out, weights = ["a", "b"], ["x", "y"], np.eye(2)
    plain = charts.attention_heatmap(src, out, weights).to_dict()
    gold = charts.attention_heatmap(src, out, weights, gold={(0, 0), (1, 1)}).to_dict()
    assert marks(plain) == ["rect"] and marks(gold) == ["rect", "square"]
    assert sum(r["gold"] for r in rows(gold)) == 2


def test_long_sentence_heatmap_rotates_labels_keeps_every_word_and_grows_wider():
    def width(n):
        spec = charts.attention_heatmap([f"w{i}" for i in range(n)], [f"o{i}" for i in range(n)], np.eye(n)).to_dict()
        axis = [enc for enc in encodings(spec, "x") if enc["field"] == "s"][0]["axis"]
        return spec["width"]["step"] * n, axis

    short_width, _ = width(5)
    long_width, axis = width(50)
    assert long_width > short_width
    assert axis["labelAngle"] in (-45, -90) and axis["labelOverlap"] is False and axis["labelLimit"] > 0
    assert long_width / 50 >= charts._THEMES["screen"].label + 2  # every label gets its own line of text


def test_heatmap_rejects_weights_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, S\) = \(1, 2\)"):
        charts.attention_heatmap(["a", "b"], ["x"], np.ones((2, 2)))


def test_attention_grid_shares_one_colour_scale():
    item = {"title": "dot", "src_tokens": ["a", "b"], "out_tokens": ["x"], "weights": [[0.5, 0.5]], "gold": {(0, 1)}}
    spec = charts.attention_grid([item, {**item, "title": "none", "weights": None}]).to_dict()
    assert len(spec["hconcat"]) == 2 and spec["resolve"]["scale"]["color"] == "shared"
    assert "this model has no attention weights" in str(spec)


# ---------------------------------------------------------------- data and playground charts

def test_length_histogram_draws_a_rule_per_edge():
    spec = charts.length_histogram([1, 2, 2, 5, 9, 12], [1, 5, 13]).to_dict()
    assert marks(spec) == ["rect", "rule", "text"]
    edges = [r["edge"] for r in rows(spec) if "edge" in r]
    assert edges == [0.5, 4.5, 12.5]
    labels = {r["label"]: r["n"] for r in rows(spec) if "label" in r}
    assert labels == {"1-4": 3, "5-12": 3}


def test_entropy_chart_has_scaled_and_unscaled_lines_on_a_log_axis():
    frame = pd.DataFrame({"d": [2, 2, 64, 64], "scaled": [True, False, True, False],
                          "entropy": [1.9, 1.8, 1.9, 0.3], "n_keys": 10})
    spec = charts.entropy_vs_dim(frame).to_dict()
    assert {r["scaling"] for r in rows(spec) if "scaling" in r} == {"scaled (÷√d)", "unscaled"}
    assert any(enc.get("scale", {}).get("type") == "log" for enc in encodings(spec, "x"))
    assert "rule" in marks(spec)


def test_matrix_heatmap_writes_values_in_small_matrices():
    small = charts.matrix_heatmap(np.arange(6).reshape(2, 3) - 2.0, ["q1", "q2"], ["a", "b", "c"], "Q").to_dict()
    assert "text" in marks(small)
    assert any(enc["scale"].get("domainMid") == 0 for enc in encodings(small, "color") if "scale" in enc)
    big = charts.matrix_heatmap(np.zeros((20, 20))).to_dict()
    assert "text" not in marks(big)


# ---------------------------------------------------------------- real renders

def test_to_png_renders_png_bytes():
    png = charts.to_png(charts.attention_heatmap(["le", "chat"], ["the", "cat"], np.eye(2), {(0, 0)}), scale=1)
    assert png.startswith(PNG_SIGNATURE)
    png = charts.to_png(charts.metric_by_bucket(bucket_frame(), "bleu", style="slide"), scale=1)
    assert png.startswith(PNG_SIGNATURE)


def test_to_svg_renders_an_svg_document():
    svg = charts.to_svg(charts.live_loss_chart(loss_frame(n_steps=3)))
    assert svg.lstrip().startswith("<svg")


def test_tokens_with_quotes_and_line_separators_render_as_labels():
    tokens = ['"quoted"', "back\\slash", "l'homme", "a\u2028b"]
    svg = charts.to_svg(charts.attention_heatmap(tokens, ["x"], np.full((1, 4), 0.25)))
    assert "l'homme" in svg and "back\\slash" in svg
