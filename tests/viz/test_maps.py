"""attn.viz.maps: attention heatmaps and grids, small matrices, the entropy chart, through to_dict()."""
import numpy as np
import pandas as pd
import pytest

from attn.viz import maps, theme
from tests.viz.specs import encodings, marks, rows


def test_heatmap_has_one_cell_per_pair_and_keeps_repeated_tokens_apart():
    src, out = ["le", "chat", "mange", "le", "poisson"], ["the", "cat", "eats", "the", "fish"]
    weights = np.eye(5)
    spec = maps.attention_heatmap(src, out, weights).to_dict()
    cells = rows(spec)
    assert len(cells) == 25 and len({(c["t"], c["s"]) for c in cells}) == 25
    assert [c["source"] for c in cells if c["t"] == 0] == src          # sentence order, both "le"s
    assert {c["weight"] for c in cells if c["t"] == 3 and c["s"] == 3} == {1.0}
    x = [enc for enc in encodings(spec, "x") if enc["field"] == "s"][0]
    assert x["type"] == "ordinal" and x["sort"] == "ascending"
    assert '"le", "chat", "mange", "le", "poisson"' in x["axis"]["labelExpr"]


def test_heatmap_colour_is_a_zero_to_one_sequential_scale_with_tooltips():
    spec = maps.attention_heatmap(["a", "b"], ["x"], [[0.25, 0.75]]).to_dict()
    color = [enc for enc in encodings(spec, "color") if enc.get("field") == "weight"][0]
    assert color["scale"]["domain"][0] == 0 and color["scale"]["domain"][-1] == 1
    tips = {t["field"]: t for enc in encodings(spec, "tooltip") for t in enc}
    assert tips["weight"]["format"] == ".3f" and {"source", "output"} <= set(tips)


def test_heatmap_gold_layer_only_when_gold_is_given():
    src, out, weights = ["a", "b"], ["x", "y"], np.eye(2)
    plain = maps.attention_heatmap(src, out, weights).to_dict()
    gold = maps.attention_heatmap(src, out, weights, gold={(0, 0), (1, 1)}).to_dict()
    assert marks(plain) == ["rect"] and marks(gold) == ["rect", "square"]
    assert sum(r["gold"] for r in rows(gold)) == 2


def test_long_sentence_heatmap_rotates_labels_keeps_every_word_and_grows_wider():
    def width(n):
        spec = maps.attention_heatmap([f"w{i}" for i in range(n)], [f"o{i}" for i in range(n)], np.eye(n)).to_dict()
        axis = [enc for enc in encodings(spec, "x") if enc["field"] == "s"][0]["axis"]
        return spec["width"]["step"] * n, axis

    short_width, _ = width(5)
    long_width, axis = width(50)
    assert long_width > short_width
    assert axis["labelAngle"] in (-45, -90) and axis["labelOverlap"] is False and axis["labelLimit"] > 0
    assert long_width / 50 >= theme.THEMES["screen"].label + 2  # every label gets its own line of text


def test_heatmap_rejects_weights_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, S\) = \(1, 2\)"):
        maps.attention_heatmap(["a", "b"], ["x"], np.ones((2, 2)))


def test_attention_grid_shares_one_colour_scale():
    item = {"title": "dot", "src_tokens": ["a", "b"], "out_tokens": ["x"], "weights": [[0.5, 0.5]], "gold": {(0, 1)}}
    spec = maps.attention_grid([item, {**item, "title": "none", "weights": None}]).to_dict()
    assert len(spec["hconcat"]) == 2 and spec["resolve"]["scale"]["color"] == "shared"
    assert "this model has no attention weights" in str(spec)


def _rendered_width(chart) -> float:
    import re

    from attn.viz import export
    return float(re.search(r'width="([\d.]+)"', export.to_svg(chart)).group(1))


@pytest.mark.parametrize("style", ["screen", "slide"])
def test_grid_of_long_sentences_wraps_to_fit_the_page_column(style):
    n = 28  # issue 17: three maps of ~25+ tokens were 1,450-1,620 px wide in a 1,300 px column
    item = {"src_tokens": [f"word{i}" for i in range(n)], "out_tokens": [f"mot{i}" for i in range(n)],
            "weights": np.full((n, n), 1 / n)}
    items = [{**item, "title": v} for v in ("additive", "dot", "general")]
    assert _rendered_width(maps.attention_grid(items, style=style, width=None)) > maps.COLUMN_PX  # unwrapped
    wrapped = maps.attention_grid(items, style=style)
    assert wrapped.to_dict()["columns"] < 3 and _rendered_width(wrapped) <= maps.COLUMN_PX


def test_entropy_chart_has_scaled_and_unscaled_lines_on_a_log_axis():
    frame = pd.DataFrame({"d": [2, 2, 64, 64], "scaled": [True, False, True, False],
                          "entropy": [1.9, 1.8, 1.9, 0.3], "n_keys": 10})
    spec = maps.entropy_vs_dim(frame).to_dict()
    assert {r["scaling"] for r in rows(spec) if "scaling" in r} == {"scaled (÷√d)", "unscaled"}
    assert any(enc.get("scale", {}).get("type") == "log" for enc in encodings(spec, "x"))
    assert "rule" in marks(spec)


def test_matrix_heatmap_writes_values_in_small_matrices():
    small = maps.matrix_heatmap(np.arange(6).reshape(2, 3) - 2.0, ["q1", "q2"], ["a", "b", "c"], "Q").to_dict()
    assert "text" in marks(small)
    assert any(enc["scale"].get("domainMid") == 0 for enc in encodings(small, "color") if "scale" in enc)
    big = maps.matrix_heatmap(np.zeros((20, 20))).to_dict()
    assert "text" not in marks(big)
