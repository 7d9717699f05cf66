"""attn.viz.export: real renders with vl-convert (PNG bytes, SVG documents, files)."""
import numpy as np
import pytest

from attn.viz import export, length, loss, maps
from tests.viz.specs import PNG_SIGNATURE, bucket_frame, loss_frame


def test_to_png_renders_png_bytes():
    png = export.to_png(maps.attention_heatmap(["le", "chat"], ["the", "cat"], np.eye(2), {(0, 0)}), scale=1)
    assert png.startswith(PNG_SIGNATURE)
    png = export.to_png(length.metric_by_bucket(bucket_frame(), "bleu", style="slide"), scale=1)
    assert png.startswith(PNG_SIGNATURE)


def test_to_svg_renders_an_svg_document():
    svg = export.to_svg(loss.live_loss_chart(loss_frame(n_steps=3)))
    assert svg.lstrip().startswith("<svg")


def test_tokens_with_quotes_and_line_separators_render_as_labels():
    tokens = ['"quoted"', "back\\slash", "l'homme", "a\u2028b"]
    svg = export.to_svg(maps.attention_heatmap(tokens, ["x"], np.full((1, 4), 0.25)))
    assert "l'homme" in svg and "back\\slash" in svg


def test_save_writes_the_format_its_extension_names(tmp_path):
    chart = maps.attention_heatmap(["a", "b"], ["x"], [[0.5, 0.5]])
    png, svg = export.save(chart, str(tmp_path / "a.png"), scale=1), export.save(chart, str(tmp_path / "a.SVG"))
    assert open(png, "rb").read().startswith(PNG_SIGNATURE)
    assert open(svg, encoding="utf-8").read().lstrip().startswith("<svg")
    with pytest.raises(ValueError, match=r"'a.pdf' should end in .png or .svg"):
        export.save(chart, "a.pdf")
