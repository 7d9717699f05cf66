"""attn.viz.theme: one colour per variant in a fixed order, the two styles, the shared helpers."""
import altair as alt
import numpy as np
import pandas as pd
import pytest

from attn.config import MODEL_ORDER
from attn.viz import length, theme
from attn.viz.theme import VARIANT_COLORS, VARIANT_ORDER
from tests.viz.specs import bucket_frame


def test_variant_scale_has_every_model_label_in_order_with_distinct_colours():
    scale = theme.variant_scale().to_dict()
    assert scale["domain"] == list(MODEL_ORDER) and VARIANT_ORDER == MODEL_ORDER
    assert scale["range"] == [VARIANT_COLORS[v] for v in MODEL_ORDER]
    assert len(set(scale["range"])) == len(MODEL_ORDER)


def test_the_rnn_colours_are_the_okabe_ito_ones_the_lecture_figures_always_had():
    assert [VARIANT_COLORS[v] for v in ("none", "additive", "dot", "general")] == [
        "#D55E00", "#0072B2", "#E69F00", "#009E73"]


def test_unknown_variant_is_appended_without_moving_the_known_ones():
    scale = theme.variant_scale(["dot", "my-variant"]).to_dict()
    known = len(MODEL_ORDER)
    assert scale["domain"][:known] == list(MODEL_ORDER) and scale["domain"][known:] == ["my-variant"]
    assert scale["range"][:known] == [VARIANT_COLORS[v] for v in MODEL_ORDER]
    assert scale["range"][known] not in VARIANT_COLORS.values()


def test_family_dash_draws_transformers_dashed_and_rnns_solid():
    labels = ["dec·alibi", "dot", "encdec·rope", "none", "my-variant"]
    encoding = theme.family_dash(labels).to_dict()
    dashes = dict(zip(encoding["scale"]["domain"], encoding["scale"]["range"]))
    assert dashes["none"] == dashes["dot"] == dashes["my-variant"] == [1, 0]  # solid
    assert dashes["dec·alibi"][1] > 0 and dashes["encdec·rope"][1] > 0  # a gap: dashed
    assert dashes["dec·alibi"] != dashes["encdec·rope"]
    assert encoding["legend"]["values"] == ["none", "dot", "dec·alibi", "encdec·rope", "my-variant"]


def test_colour_and_dash_of_the_same_labels_make_one_legend():
    import vl_convert
    frame = pd.DataFrame({"x": [1, 2] * 3, "y": [1, 2, 2, 3, 3, 1], "variant": ["none"] * 2 + ["dec·rope"] * 2 +
                          ["encdec·t5"] * 2})
    labels = frame["variant"].tolist()
    chart = alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q", color=theme.variant_color(labels),
                                                strokeDash=theme.family_dash(labels))
    legends = vl_convert.vegalite_to_vega(chart.to_json())["legends"]
    assert len(legends) == 1 and legends[0]["stroke"] == "color" and legends[0]["strokeDash"] == "strokeDash"


def test_slide_style_has_white_background_and_larger_fonts():
    screen = length.metric_by_bucket(bucket_frame(), "bleu", style="screen").to_dict()["config"]
    slide = length.metric_by_bucket(bucket_frame(), "bleu", style="slide").to_dict()["config"]
    assert slide["background"] == "white" and "background" not in screen
    assert slide["title"]["fontSize"] >= 20 > screen["title"]["fontSize"]
    assert 16 <= slide["axis"]["labelFontSize"] <= 18 and slide["axis"]["labelFontSize"] > screen["axis"]["labelFontSize"]
    assert slide["line"]["strokeWidth"] > screen["line"]["strokeWidth"]


def test_unknown_style_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="screen, slide"):
        length.metric_by_bucket(bucket_frame(), "bleu", style="poster")


def test_unknown_style_is_rejected_by_the_theme_itself():
    assert theme.theme("slide").width > theme.theme("screen").width
    with pytest.raises(ValueError, match="screen, slide, got 'poster'"):
        theme.theme("poster")


def test_present_puts_the_known_variants_in_fixed_order_and_the_others_last_as_seen():
    assert theme.present(["zeta", "dot", "none", "alpha", "dot"]) == ["none", "dot", "zeta", "alpha"]
    assert theme.present(["encdec·rope", "dec·nope", "general", "dec·sinusoidal"]) == [
        "general", "dec·sinusoidal", "dec·nope", "encdec·rope"]


def test_require_columns_names_the_builder_the_missing_columns_and_those_there():
    with pytest.raises(ValueError, match="my_chart: the data frame lacks column\\(s\\) b, c; it has a"):
        theme.require_columns(pd.DataFrame({"a": [1]}), ["a", "b", "c"], "my_chart")


def test_rows_json_writes_nan_as_null_and_numpy_numbers_as_json():
    frame = pd.DataFrame({"x": [np.int64(2), np.int64(3)], "y": [0.5, np.nan]})
    assert theme.rows_json(frame) == [{"x": 2, "y": 0.5}, {"x": 3, "y": None}]
