"""attn.viz.theme: one colour per variant in a fixed order, the two styles, the shared helpers."""
import numpy as np
import pandas as pd
import pytest

from attn.viz import length, theme
from attn.viz.theme import VARIANT_COLORS, VARIANT_ORDER
from tests.viz.specs import bucket_frame


def test_variant_scale_has_fixed_domain_and_okabe_ito_colours():
    scale = theme.variant_scale().to_dict()
    assert scale["domain"] == ["none", "additive", "dot", "general"]
    assert scale["range"] == [VARIANT_COLORS[v] for v in VARIANT_ORDER]
    assert len(set(scale["range"])) == 4


def test_unknown_variant_is_appended_without_moving_the_four_known_ones():
    scale = theme.variant_scale(["dot", "my-variant"]).to_dict()
    assert scale["domain"][:4] == list(VARIANT_ORDER) and scale["domain"][4] == "my-variant"
    assert scale["range"][:4] == [VARIANT_COLORS[v] for v in VARIANT_ORDER]


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


def test_require_columns_names_the_builder_the_missing_columns_and_those_there():
    with pytest.raises(ValueError, match="my_chart: the data frame lacks column\\(s\\) b, c; it has a"):
        theme.require_columns(pd.DataFrame({"a": [1]}), ["a", "b", "c"], "my_chart")


def test_rows_json_writes_nan_as_null_and_numpy_numbers_as_json():
    frame = pd.DataFrame({"x": [np.int64(2), np.int64(3)], "y": [0.5, np.nan]})
    assert theme.rows_json(frame) == [{"x": 2, "y": 0.5}, {"x": 3, "y": None}]
