"""attn.viz.tables: the Runs page's table and filters, counts per status, recent runs, curve rows."""
from datetime import datetime

import pandas as pd

from attn.viz import tables


def runs() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "b", "c", "d"], "error": [None] * 4, "name": ["a", "b", "c", "d"],
                         "status": ["done", "running", "done", "queued"], "task": ["reverse", "reverse", "copy", "copy"],
                         "variant": ["dot", "none", "dot", "additive"], "extra": [1, 2, 3, 4],
                         "finished": ["2024-01-01 10:00:00", None, "2024-01-01 10:09:00", None]})


def test_runs_table_keeps_the_read_columns_in_reading_order():
    table = tables.runs_table(runs().iloc[1:])
    assert table.columns.tolist() == ["name", "status", "task", "variant", "finished", "id", "error"]
    assert table.index.tolist() == [0, 1, 2]


def test_filters_combine_and_an_empty_filter_keeps_every_row():
    assert tables.filter_runs(runs()).equals(runs())
    assert tables.filter_runs(runs(), status=["done"], task=["copy"])["id"].tolist() == ["c"]
    assert tables.filter_runs(runs(), variant=["dot", "none"])["id"].tolist() == ["a", "b", "c"]


def test_status_counts_follow_the_stores_order_and_leave_zeros_out():
    assert list(tables.status_counts(runs()).items()) == [("queued", 1), ("running", 1), ("done", 2)]
    assert tables.status_counts(runs().iloc[:0]) == {}


def test_recent_is_the_runs_finished_within_the_window_newest_first():
    now = datetime(2024, 1, 1, 10, 10).timestamp()  # local time, as the store writes it
    assert tables.recent(runs(), seconds=600, now=now)["id"].tolist() == ["c", "a"]
    assert tables.recent(runs(), seconds=120, now=now)["id"].tolist() == ["c"]


def test_curves_frame_marks_step_and_epoch_rows():
    steps, epochs = pd.DataFrame({"step": [1, 2]}), pd.DataFrame({"step": [2]})
    frame = tables.curves_frame(steps, epochs)
    assert frame["kind"].tolist() == ["step", "step", "epoch"]
    empty = tables.curves_frame(steps.iloc[:0], epochs.iloc[:0])
    assert empty.empty and empty.columns.tolist() == ["step", "kind"]
