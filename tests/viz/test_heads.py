"""attn.viz.heads: the layers x heads grid, the head average and the per-head summary, through
to_dict() and one real render each."""
import math

import numpy as np
import pandas as pd
import pytest

from attn.viz import export, heads
from tests.viz.specs import PNG_SIGNATURE, encodings, marks, rows

SRC, OUT = ["le", "chat", "dort"], ["the", "cat", "sleeps", "</s>"]


def _weights(layers=2, n_heads=3, t=4, s=3):
    rng = np.random.default_rng(0)
    raw = rng.random((layers, n_heads, t, s))
    return raw / raw.sum(-1, keepdims=True)


def test_grid_has_one_cell_per_layer_head_row_and_column_faceted_by_layer_and_head():
    weights = _weights()
    spec = heads.head_grid(OUT, SRC, weights, kind="cross").to_dict()
    cells = rows(spec)
    assert len(cells) == 2 * 3 * 4 * 3
    cell = [c for c in cells if (c["layer"], c["head"], c["t"], c["s"]) == (2, 3, 1, 2)][0]
    assert cell["weight"] == pytest.approx(weights[1, 2, 1, 2], abs=1e-6)
    assert cell["row token"] == "cat" and cell["column token"] == "dort"
    assert spec["facet"]["row"]["field"] == "layer" and spec["facet"]["column"]["field"] == "head"
    color = [e for e in encodings(spec, "color") if e.get("field") == "weight"][0]
    assert color["scale"]["domain"][0] == 0 and color["scale"]["domain"][-1] == 1
    assert "2 layers x 3 heads" in str(spec["title"])


def test_grid_of_self_attention_labels_both_axes_with_one_sentence():
    spec = heads.head_grid(SRC, SRC, _weights(1, 2, 3, 3), kind="encoder").to_dict()
    titles = {e["axis"]["title"] for ch in ("x", "y") for e in encodings(spec, ch) if "axis" in e}
    assert titles == {"source"} and "encoder self-attention" in str(spec["title"])


def test_grid_refuses_weights_that_do_not_fit_the_tokens_or_an_unknown_kind():
    with pytest.raises(ValueError, match=r"\(layers, heads, 4, 3\)"):
        heads.head_grid(OUT, SRC, np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="encoder, decoder, cross"):
        heads.head_grid(OUT, SRC, _weights(), kind="self")


def test_head_average_draws_the_mean_over_heads_of_the_chosen_layer():
    weights = _weights()
    spec = heads.head_average(OUT, SRC, weights, layer=0).to_dict()
    got = {(c["t"], c["s"]): c["weight"] for c in rows(spec)}
    assert got[(2, 1)] == pytest.approx(weights[0, :, 2, 1].mean(), abs=1e-6)
    assert "layer 1: mean of 3 heads" in str(spec)
    assert "layer 2" in str(heads.head_average(OUT, SRC, weights).to_dict())   # default: the last layer
    with pytest.raises(ValueError, match="out of range for 2 layers"):
        heads.head_average(OUT, SRC, weights, layer=2)


def test_head_average_names_its_axes_by_the_kind_of_attention():
    def titles(kind):
        rows_, cols = (SRC, SRC) if kind == "encoder" else (OUT, OUT) if kind == "decoder" else (OUT, SRC)
        weights = np.full((1, 2, len(rows_), len(cols)), 1 / len(cols))
        spec = heads.head_average(rows_, cols, weights, kind=kind).to_dict()
        return encodings(spec, "x")[0]["axis"]["title"], encodings(spec, "y")[0]["axis"]["title"]
    assert titles("encoder") == ("source", "source")   # was labelled "output" down the side
    assert titles("decoder") == ("output", "output")
    assert titles("cross") == ("source", "output")


def _stats():
    return pd.DataFrame([{"kind": k, "layer": layer, "head": h, "entropy": 0.1 * h, "distance": 0.5 * layer}
                         for k in ("encoder", "cross") for layer in (1, 2) for h in (1, 2)])


def test_summary_one_point_per_head_coloured_by_kind_with_layer_head_labels():
    spec = heads.head_summary(_stats(), n_keys=5).to_dict()
    assert marks(spec) == ["point", "text", "rule", "text"]
    points = [r for r in rows(spec) if "entropy" in r]
    assert len(points) == 8 and {r["label"] for r in points} >= {"L1·H1", "L2·H2"}
    color = [e for e in encodings(spec, "color") if e.get("field") == "attention"][0]
    assert color["scale"]["domain"] == ["encoder self-attention", "cross-attention"]
    assert [r["x"] for r in rows(spec) if "x" in r] == [pytest.approx(math.log(5))]


def test_summary_can_be_narrowed_to_sit_beside_a_grid_with_its_legend_below():
    spec = heads.head_summary(_stats(), n_keys=5, width=380).to_dict()
    assert spec["width"] == 380 and heads.head_summary(_stats()).to_dict()["width"] == 520  # the screen style's
    for channel in ("color", "shape"):
        (legend,) = [e["legend"] for e in encodings(spec, channel) if e.get("field") == "attention"]
        assert legend["orient"] == "bottom"


def test_summary_without_a_needed_column_names_it():
    with pytest.raises(ValueError, match="lacks column.*distance"):
        heads.head_summary(_stats().drop(columns="distance"))
    assert "no heads" in str(heads.head_summary(_stats().iloc[0:0]).to_dict())


@pytest.mark.parametrize("style", ["screen", "slide"])
def test_grid_and_summary_render_to_png(style):
    assert export.to_png(heads.head_grid(OUT, SRC, _weights(), style=style), scale=1).startswith(PNG_SIGNATURE)
    assert export.to_png(heads.head_summary(_stats(), 4, style=style), scale=1).startswith(PNG_SIGNATURE)


def test_a_grid_of_many_heads_over_a_long_sentence_fits_the_page_with_its_words_unlabelled():
    words = [f"w{i}" for i in range(28)]
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(28), size=(2, 4, 28))                    # (layers, heads, rows, cols)
    spec = heads.head_grid(words, words, weights, kind="decoder").to_dict()
    widths = [l["width"]["step"] for l in [spec["spec"]] + spec["spec"].get("layer", []) if "width" in l]
    step = widths[0] if widths else spec["spec"]["width"]["step"]
    assert 4 * 28 * step <= heads.GRID_PX                                     # the row of heads fits
    x_axes = [e["axis"] for e in encodings(spec, "x") if "axis" in e]
    assert x_axes and all(a.get("labels") is False for a in x_axes)
    assert "the head average names them" in str(spec["title"])
    short = heads.head_grid(SRC, SRC, _weights(1, 2, 3, 3), kind="encoder").to_dict()
    assert "names them" not in str(short["title"])                           # short sentences keep their words
