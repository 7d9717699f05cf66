"""attn.viz.loss: the EMA, loss curves (overlay, side by side, by epoch, thinned) and the live chart."""
import math

import numpy as np
import pandas as pd
import pytest

from attn.viz import loss
from tests.viz.specs import encodings, loss_frame, marks, rows


def test_smooth_is_an_exponential_moving_average():
    series = pd.Series([1.0, 3.0, 2.0])
    assert loss.smooth(series, 0.5).tolist() == pytest.approx([1.0, 2.0, 2.0])
    assert loss.smooth(series, 0.0).tolist() == [1.0, 3.0, 2.0]
    with_gap = loss.smooth(pd.Series([1.0, np.nan, 3.0]), 0.5)
    assert math.isnan(with_gap[1]) and with_gap[2] == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"\[0, 0.99\]"):
        loss.smooth(series, 1.0)


def test_loss_curves_overlay_encodes_variant_curve_and_run():
    spec = loss.loss_curves(loss_frame(), x="elapsed", log_y=True).to_dict()
    assert {enc["field"] for enc in encodings(spec, "strokeDash")} == {"curve"}
    assert {enc["field"] for enc in encodings(spec, "detail")} == {"run_id"}
    assert any(enc.get("scale", {}).get("type") == "log" for enc in encodings(spec, "y"))
    curves = {r["curve"] for r in rows(spec)}
    assert curves == {"train", "valid"}
    assert sum(r["curve"] == "valid" for r in rows(spec)) == 4  # two epochs for each of two runs


def test_loss_curves_smoothing_is_applied_per_run():
    spec = loss.loss_curves(loss_frame(), smoothing=0.5).to_dict()
    train = [r for r in rows(spec) if r["curve"] == "train" and r["run_id"] == "run1"]
    assert train[0]["loss"] == pytest.approx(3.0) and train[1]["loss"] == pytest.approx(0.5 * 3.0 + 0.5 * 1.5)
    assert train[1]["raw"] == pytest.approx(1.5)


def test_loss_curves_side_by_side_is_one_panel_per_variant_with_shared_y():
    spec = loss.loss_curves(loss_frame(), layout="side_by_side").to_dict()
    assert spec["facet"]["column"]["field"] == "variant"
    assert spec["facet"]["column"]["sort"] == ["none", "additive"]
    assert spec["resolve"]["scale"]["y"] == "shared"


def test_loss_curves_by_epoch_use_epoch_rows_only():
    spec = loss.loss_curves(loss_frame(), x="epoch").to_dict()
    assert sorted({r["x"] for r in rows(spec) if r["curve"] == "train"}) == [1, 2]


def test_long_runs_are_thinned():
    spec = loss.loss_curves(loss_frame(n_steps=3000, variants=("dot",))).to_dict()
    assert len(rows(spec)) <= loss.MAX_POINTS_PER_RUN + 300


def test_live_chart_without_rows_says_it_is_waiting():
    for empty in (None, pd.DataFrame(), loss_frame().iloc[:0]):
        spec = loss.live_loss_chart(empty).to_dict()
        assert marks(spec) == ["text"]
        assert "waiting for the first steps" in rows(spec)[0]["text"]


def test_live_chart_with_one_step_per_run_draws_points_in_panels_per_variant():
    spec = loss.live_loss_chart(loss_frame(n_steps=1)).to_dict()
    assert spec["facet"]["column"]["field"] == "variant"
    assert "point" in marks(spec)
    assert len([r for r in rows(spec) if r["curve"] == "train"]) == 2
