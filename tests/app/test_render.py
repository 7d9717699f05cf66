"""Charts to the browser (attn.app.render): a kept spec is what st.altair_chart sends, kept specs are told
apart by every value of their data, and the live loss chart with swapped rows is the chart itself."""
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.apptest import RUN_TIMEOUT, assert_clean, charts_of


def _charts_two_ways(builder: str, args: tuple, kwargs: dict) -> None:
    """An AppTest script: one chart through render.show_chart (kept spec), then through st.altair_chart."""
    import altair as alt
    import streamlit as st
    from attn.app import render
    from attn.viz import charts
    build = getattr(charts, builder)
    render.show_chart(build, *args, key="kept", name="same-chart", **kwargs)
    chart = build(*args, **kwargs).properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    st.altair_chart(chart, width="content", alt="same chart")


BUCKETS = pd.DataFrame({"variant": ["none", "dot"] * 4, "seed": [0, 0, 1, 1] * 2,
                        "bucket": ["1-5"] * 4 + ["6-9"] * 4, "lo": [1] * 4 + [6] * 4, "hi": [5] * 4 + [9] * 4,
                        "n": [10] * 8, "bleu": [50.0, 80.0, 52.0, 81.0, 20.0, 70.0, 25.0, 72.5]})


@pytest.mark.parametrize("builder, args, kwargs", [
    ("metric_by_bucket", (BUCKETS, "bleu"), {"band": "std", "style": "slide"}),
    ("matrix_heatmap", (np.arange(12.0).reshape(3, 4) - 6, ["q1", "q2", "q3"], list("abcd")), {"title": "Q"}),
    ("attention_grid", ([{"title": "dot", "src_tokens": ["a", "b"], "out_tokens": ["b", "a", "</s>"],
                          "weights": np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]]),
                          "gold": frozenset({(0, 1), (1, 0)})}],), {}),
    ("length_histogram", ([3, 4, 4, 5, 9, 12], [3, 6, 13]), {}),
])
def test_a_kept_chart_sends_the_browser_what_altair_chart_sends(home, builder, args, kwargs):
    at = AppTest.from_function(_charts_two_ways, args=(builder, args, kwargs), default_timeout=RUN_TIMEOUT).run()
    assert_clean(at)
    kept, direct = charts_of(at)
    assert kept.proto == direct.proto
    assert len(at.download_button) == 2


def _charts_of_frames(frames: list) -> None:
    """An AppTest script: one metric_by_bucket chart per frame."""
    from attn.app import render
    from attn.viz import charts
    for i, frame in enumerate(frames):
        render.show_chart(charts.metric_by_bucket, frame, "bleu", key=f"chart{i}")


def test_kept_charts_are_told_apart_by_every_value_of_their_data(home):
    changed = BUCKETS.copy()
    changed.loc[7, "bleu"] = 72.6  # same shape, columns and types; one value differs
    at = AppTest.from_function(_charts_of_frames, args=([BUCKETS, changed, BUCKETS.copy()],),
                               default_timeout=RUN_TIMEOUT).run()
    assert_clean(at)
    first, second, third = ((c.proto.spec, list(c.proto.datasets)) for c in charts_of(at))
    assert first[1][0].data.data != second[1][0].data.data
    assert first == third


def test_the_chart_key_covers_every_row_of_a_large_frame():
    from attn.app import render
    big = pd.DataFrame({"x": np.arange(60_000), "loss": np.ones(60_000)})  # Streamlit's own hash samples these
    other = big.copy()
    other.loc[31_337, "loss"] = 2.0
    assert render.frame_digest(big) == render.frame_digest(big.copy())
    assert render.frame_digest(big) != render.frame_digest(other)
    assert render.array_digest(big.to_numpy()) != render.array_digest(other.to_numpy())


def _curves(variants, steps: int, shift: float = 0.0) -> pd.DataFrame:
    rows = []
    for i, variant in enumerate(variants):
        for step in range(5, steps + 1, 5):
            rows.append({"run_id": f"r{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                         "step": step, "train_loss": 5.0 / step + shift + i, "valid_loss": np.nan, "kind": "step"})
        rows.append({"run_id": f"r{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0, "step": steps,
                     "train_loss": 4.0 / steps + i, "valid_loss": 4.5 / steps + i, "kind": "epoch"})
    return pd.DataFrame(rows)


def _live_then_direct(frames: list) -> None:
    """An AppTest script: each frame through render.show_live_loss, the last also through st.altair_chart."""
    import altair as alt
    import streamlit as st
    from attn.app import render
    from attn.viz import charts
    for i, frame in enumerate(frames):
        render.show_live_loss(frame, style="screen", key=f"live{i}", name="live-loss")
    chart = charts.live_loss_chart(frames[-1], style="screen")
    st.altair_chart(chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding")),
                    width="content", alt="live loss")


def test_the_live_loss_chart_with_swapped_rows_is_what_altair_chart_sends(home):
    # The first frame builds the spec of its shape; the second (same variants, other rows) reuses it
    # with its own rows; a third with another set of variants gets a spec of its own.
    frames = [_curves(["none", "dot"], 40), _curves(["none", "dot"], 85, shift=0.3), _curves(["additive"], 20)]
    for last in (1, 2):
        at = AppTest.from_function(_live_then_direct, args=(frames[:last + 1],), default_timeout=RUN_TIMEOUT).run()
        assert_clean(at)
        drawn = charts_of(at)
        assert drawn[last].proto == drawn[-1].proto
        assert drawn[0].proto.datasets[0].data.data != drawn[last].proto.datasets[0].data.data


def test_the_live_loss_chart_waits_for_the_first_steps(home):
    at = AppTest.from_function(_live_then_direct, args=([pd.DataFrame()],), default_timeout=RUN_TIMEOUT).run()
    assert_clean(at)
    drawn = charts_of(at)
    assert drawn[0].proto == drawn[-1].proto
