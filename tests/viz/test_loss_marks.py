"""attn.viz.loss alignment marks: the first checkpoint whose probe maps reach 0.8 alignment, drawn as a
rule with its label in its run's panel of the live loss chart; without marks the chart is unchanged."""
import numpy as np
import pandas as pd

from attn.viz.loss import MARK_NOTE, alignment_marks, live_loss_chart, live_loss_parts


def _curves() -> pd.DataFrame:
    return pd.DataFrame({"run_id": ["a"] * 5 + ["b"] * 5, "name": ["A"] * 5 + ["B"] * 5,
                         "variant": ["none"] * 5 + ["additive"] * 5, "seed": 0, "step": list(range(1, 6)) * 2,
                         "epoch": 0, "elapsed": 0.0, "train_loss": np.linspace(3, 1, 10), "valid_loss": np.nan,
                         "tokens_per_s": 1.0})


ALIGNMENT = pd.DataFrame({"run_id": ["b", "b", "b", "a"], "step": [1, 3, 4, 2], "alignment": [0.3, 0.85, 0.9, 0.5]})


def test_the_mark_is_the_first_checkpoint_at_or_above_the_threshold():
    marks = alignment_marks(ALIGNMENT)
    assert list(marks["run_id"]) == ["b"] and list(marks["step"]) == [3]
    assert marks["label"][0] == "aligned (85%) at step 3"


def test_marks_are_drawn_as_rules_in_their_runs_panel_and_change_the_charts_shape():
    marks = alignment_marks(ALIGNMENT)
    shape, rows = live_loss_parts(_curves(), marks)
    assert shape[-1] == "marks" and live_loss_parts(_curves())[0] != shape
    mark_rows = rows[rows["label"] != ""]
    assert list(mark_rows["variant"]) == ["additive"] and list(mark_rows["x"]) == [3.0]
    spec = live_loss_chart(_curves(), marks=marks).to_dict()
    assert MARK_NOTE in str(spec["title"]) and "rule" in str(spec["spec"])
    assert "rule" not in str(live_loss_chart(_curves()).to_dict()["spec"])
