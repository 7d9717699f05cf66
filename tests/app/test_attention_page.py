"""pages/attention.py with saliency: every variant, none included, gets its saliency map beside its attention,
and the attention variants their per-row rank correlation; on the tiny trained runs (tests/app/conftest.py)."""
import json

from tests.app.apptest import assert_clean, charts_of, open_page


def _titles(chart) -> list[str]:
    """The panel titles of an attention_grid chart as sent to the browser."""
    spec = json.loads(chart.proto.spec)
    panels = [p for row in spec.get("vconcat", [spec]) for p in row.get("hconcat", [row])]
    return [p["title"]["text"] if isinstance(p["title"], dict) else p["title"] for p in panels]


def _with_saliency(at):
    at.toggle(key="attention.saliency").set_value(True).run()
    assert_clean(at)
    return at


def test_none_gets_a_saliency_map_beside_the_note_that_it_has_no_attention(trained_app):
    at = _with_saliency(open_page(trained_app, "attention"))
    maps = charts_of(at)
    assert len(maps) == 3  # one row per variant: none, additive, dot
    titles = [_titles(chart) for chart in maps]
    assert titles[0] == ["none · no attention", "none · saliency"]
    assert [t[0] for t in titles[1:]] == ["additive", "dot"]
    assert all(t[1].startswith(f"{v} · saliency") for v, t in zip(("additive", "dot"), titles[1:]))
    assert not any("one fixed vector" in m.value for m in at.markdown)  # the map replaces the paragraph


def test_rank_correlation_of_attention_and_saliency_is_shown_per_variant(trained_app):
    at = _with_saliency(open_page(trained_app, "attention"))
    table = next(d.value for d in at.dataframe if "mean ρ" in d.value.columns)
    assert list(table["variant"]) == ["additive", "dot"]  # none has no attention to correlate
    for _, row in table.iterrows():
        rho = [v for v in row["ρ per output row"] if v is not None]
        assert rho and all(-1 <= v <= 1 for v in rho) and row["rows"] == len(rho)
        assert abs(row["mean ρ"] - sum(rho) / len(rho)) < 1e-2


def test_the_none_panel_button_turns_saliency_on_and_typed_sentences_get_it_too(trained_app):
    at = open_page(trained_app, "attention")
    at.button(key="attention.saliency_none_button").click().run()
    assert_clean(at)
    assert at.toggle(key="attention.saliency").value and len(charts_of(at)) == 3
    at.radio(key="attention.source").set_value("your own").run()
    at.text_input(key="attention.text").set_value("a b c d").run()
    assert_clean(at)
    assert _titles(charts_of(at)[0]) == ["none · no attention", "none · saliency"]
