"""attn.viz.text: the equations on Home and the lines the pages write about runs."""
import pandas as pd
import pytest

from attn.config import VARIANTS
from attn.viz import tables, text


def test_every_variant_has_an_equation_and_the_context_one_is_there():
    assert set(VARIANTS) | {"context"} == set(text.EQUATIONS)


@pytest.mark.parametrize("statuses, line", [
    ([], "0 runs stored · no jobs active"),
    (["done"], "1 run stored · no jobs active"),
    (["done", "running", "queued", "queued"], "4 runs stored · 1 training · 2 queued"),
])
def test_store_line_counts_stored_training_and_queued_runs(statuses, line):
    runs = pd.DataFrame({"status": pd.Series(statuses, dtype=object)})
    assert text.store_line(tables.status_counts(runs)) == line


def test_progress_text_before_the_first_step_and_after_the_last():
    row = {"name": "dot seed 0", "status": "running", "step": None, "total_steps": None, "epoch": None,
           "epochs": None, "eta": float("nan")}
    assert text.progress_text(row) == "dot seed 0 — starting (loading data)"
    done = {**row, "step": 40, "total_steps": 40, "epoch": 4, "epochs": 4}
    assert text.progress_text(done) == "dot seed 0 — epoch 4/4 · step 40/40 · evaluating on the test set"


def test_format_seconds_picks_the_unit():
    assert [text.format_seconds(s) for s in (None, 0.4, 59, 185, 3725)] == ["–", "0 s", "59 s", "3 min 05 s",
                                                                            "1 h 02 min"]
