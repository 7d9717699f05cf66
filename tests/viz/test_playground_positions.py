"""attn.viz.playground's positional-encodings panel: one small panel per encoding, the learned table's end."""
import json

import numpy as np
import pandas as pd
import pytest

from attn.viz import playground


def effects(last_key: int = 12, learned_rows: int = 6) -> pd.DataFrame:
    """A hand-made frame in position_effects' shape: two ALiBi heads, one curve for every other encoding."""
    keys = np.arange(last_key + 1)
    rows = []
    for encoding in playground.POSITION_PANELS:
        for head in ((1, 2) if encoding == "alibi" else (0,)):
            values = -abs(keys - 4) / (2 * max(head, 1)) if encoding == "alibi" else np.cos(keys - 4.0)
            if encoding == "learned":
                values = np.where(keys < learned_rows, values, np.nan)
            rows += [{"encoding": encoding, "quantity": "q", "head": head, "key": int(k), "value": float(v)}
                     for k, v in zip(keys, values)]
    return pd.DataFrame(rows)


def panels(chart) -> list[dict]:
    return chart.to_dict()["concat"]


@pytest.mark.parametrize("style,columns", [("screen", 2), ("slide", 3)])
def test_one_titled_panel_per_encoding_in_the_styles_columns(style, columns):
    spec = playground.position_effects_chart(effects(), 4, style).to_dict()
    assert [p["title"]["text"] for p in spec["concat"]] == [playground.PANEL_TITLES[e] for e in playground.POSITION_PANELS]
    assert spec["columns"] == columns and spec["resolve"]["scale"]["y"] == "independent"
    assert "query i = 4" in spec["title"]["text"]


def test_learned_panel_marks_its_last_row_and_draws_nothing_past_it():
    spec = playground.position_effects_chart(effects(12, 6), 4, max_positions=6).to_dict()
    learned = spec["concat"][1]
    rows_of = lambda layer: spec["datasets"][layer["data"]["name"]]  # noqa: E731
    assert max(row["key"] for row in rows_of(learned["layer"][0])) == 5     # keys 6..12 have no row: not drawn
    assert list(rows_of(learned["layer"][-1])) == [{"key": 5.5, "label": "no row past 5"}]  # the table's end, written
    roomy = playground.position_effects_chart(effects(12, 13), 4, max_positions=13).to_dict()
    assert "no row past" not in json.dumps(roomy)                    # a table reaching every key has no end mark


def test_multi_head_panels_colour_by_head():
    alibi = panels(playground.position_effects_chart(effects(), 4))[3]
    assert alibi["layer"][0]["encoding"]["color"]["field"] == "head"


def test_notes_say_what_is_missing_and_what_is_masked():
    notes = playground.position_notes(query=3, last_key=40, max_positions=24, causal=True, slopes=[0.25, 0.0625])
    assert "no row past 23; the model reuses row 23 for every later position" in notes["learned"]
    assert "fresh table is all zeros" in notes["t5"] and "m = 0.25, 0.0625" in notes["alibi"]
    assert all(note.endswith("keys j > i masked") for note in notes.values())
    assert "query 30 has no row" in playground.position_notes(30, 40, 24)["learned"]


def test_a_query_outside_the_keys_is_refused():
    with pytest.raises(ValueError, match="query = 20 must lie among the keys 0..12"):
        playground.position_effects_chart(effects(), 20)


def test_only_transformers_with_a_learned_or_t5_table_offer_a_trained_table():
    configs = {"a": {"model": {"family": "transformer", "positions": "t5"}},
               "b": {"model": {"family": "transformer", "positions": "rope"}},
               "c": {"model": {"family": "rnn", "variant": "dot"}},
               "d": {"model": {"family": "transformer", "positions": "learned"}}}
    assert list(playground.trained_table_runs(configs)) == ["a", "d"]
