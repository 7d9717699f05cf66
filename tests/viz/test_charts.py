"""attn.viz.charts, the index of every builder: callers find each one there, drawn with the same colours."""
from attn.viz import charts
from attn.viz.charts import VARIANT_COLORS, VARIANT_ORDER
from tests.viz.specs import bucket_frame, encodings, loss_frame


def test_variant_colours_are_identical_across_builders():
    specs = [charts.metric_by_bucket(bucket_frame(), "bleu").to_dict(),
             charts.loss_curves(loss_frame()).to_dict(),
             charts.loss_curves(loss_frame(), layout="side_by_side").to_dict(),
             charts.live_loss_chart(loss_frame(variants=("general",))).to_dict()]
    scales = {(tuple(enc["scale"]["domain"]), tuple(enc["scale"]["range"]))
              for spec in specs for enc in encodings(spec, "color") if enc.get("field") == "variant"}
    assert scales == {(tuple(VARIANT_ORDER), tuple(VARIANT_COLORS[v] for v in VARIANT_ORDER))}


def test_every_name_the_index_exports_is_there():
    missing = [name for name in charts.__all__ if not hasattr(charts, name)]
    assert not missing, f"attn.viz.charts.__all__ names what it lacks: {missing}"


def test_every_builder_the_docstring_lists_is_exported_and_callable():
    listed = {word.rstrip(",") for line in charts.__doc__.splitlines() if line.startswith("    ")
              for word in line.split()[:4] if word.rstrip(",").islower() and "_" in word}
    assert {"metric_by_bucket", "loss_curves", "attention_grid", "to_png", "rows_json"} <= listed
    assert listed <= set(charts.__all__) and all(callable(getattr(charts, name)) for name in listed)


def test_the_index_hands_out_the_builders_of_the_modules_themselves():
    from attn.viz import export, length, loss, maps, theme
    for module in (export, length, loss, maps, theme):
        for name in charts.__all__:
            if name in vars(module):
                assert getattr(charts, name) is getattr(module, name), f"charts.{name} is not {module.__name__}.{name}"
