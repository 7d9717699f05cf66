"""The Sweep page: the grid's form, the cell limit, a tiny sweep filling in with its figure and Compare links,
one unfinished sweep per visitor, and Cancel the rest."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from attn.app import frame
from attn.runs.store import FINISHED, RunStore
from tests.app.apptest import ROOT, RUN_TIMEOUT, assert_clean, charts_of, wait_until

PAGE = "pages/sweep.py"
TRAINING_TIMEOUT = 600  # seconds; the tiny cells take a few, this only guards against a hang


@pytest.fixture
def entry(tmp_path, monkeypatch) -> Path:
    """A copy of dashboard.py (which lists the Sweep page) beside a copy of pages/, so the page runs in the
    real frame and its links to Compare resolve."""
    text = (Path(ROOT) / "dashboard.py").read_text(encoding="utf-8")
    assert PAGE in text, "dashboard.py no longer lists the Sweep page"
    folder = tmp_path / "app"
    shutil.copytree(Path(ROOT) / "pages", folder / "pages")  # a copy: AppTest matches pages by resolved path
    (folder / "dashboard.py").write_text(text, encoding="utf-8")
    monkeypatch.setattr(frame, "ENTRY", str(folder / "dashboard.py"))  # the frame a page run on its own starts
    return folder / "dashboard.py"


@pytest.fixture
def page(entry, home) -> AppTest:
    at = AppTest.from_file(str(entry), default_timeout=RUN_TIMEOUT).run()
    return at.switch_page(PAGE).run()


def _cancel_everything(home) -> None:
    from attn.app import state
    for run_id in RunStore(home).runs(status=["queued", "running"])["id"]:
        state.runner().cancel(run_id)


def _fill(at: AppTest, values: str, fixed: str = "epochs=1") -> AppTest:
    at.selectbox(key="sweep.preset").set_value("tiny")
    at.multiselect(key="sweep.variants").set_value(["none", "dot"])
    at.text_input(key="sweep.seeds").input("0")
    at.selectbox(key="sweep.field").set_value("hidden")
    at.text_input(key="sweep.values").input(values)
    at.text_input(key="sweep.fixed").input(fixed)
    return at.run()


def test_the_page_opens_on_the_capacity_preset_and_counts_its_cells(page):
    assert_clean(page)
    assert any("Will queue **45 cells**: hidden 32,64,128,256,512 × none,additive,dot × seeds 0-2" in c.value
               for c in page.caption)
    assert any(c.value.startswith(":material/timer:") for c in page.caption)  # how long they would take here
    assert "No sweep yet" in page.info[0].value


def test_a_bad_value_is_named_and_more_cells_than_the_limit_queue_nothing(page, home, monkeypatch):
    _fill(page, "16,big")
    assert any("--hidden: 'big' is not a whole number" in w.value for w in page.warning)
    monkeypatch.setenv("ATTN_MAX_SWEEP_CELLS", "3")
    _fill(page, "16,32").button(key="sweep.queue_button").click().run()
    assert not page.exception and not page.success
    assert "more than the 3 one sweep may have on this server (ATTN_MAX_SWEEP_CELLS=3)" in page.error[0].value
    assert RunStore(home).runs().empty


def test_a_tiny_sweep_fills_in_with_its_figure_and_each_value_opens_in_compare(page, home):
    _fill(page, "16,32").button(key="sweep.queue_button").click().run()
    try:
        assert_clean(page)
        assert "4 cells, 0 of them from the store" in page.success[0].value
        store = RunStore(home)
        (study,) = store.studies("sweep")["id"]
        assert page.query_params["sweep"] == [study] or page.query_params["sweep"] == study
        wait_until(lambda: set(store.runs()["status"]) <= set(FINISHED), TRAINING_TIMEOUT, "the tiny sweep to end")
    finally:
        _cancel_everything(home)
    page.run()
    assert_clean(page)
    table = page.dataframe[0].value
    assert list(table["hidden"]) == [16, 32] and all(table["dot"].str.startswith("done 1/1"))
    assert len(charts_of(page)) == 1
    links = [link.proto for link in page.get("page_link") if link.proto.label.startswith("hidden ")]
    assert [link.label for link in links] == ["hidden 16", "hidden 32"]
    assert all(link.page == "compare" and link.query_string.startswith("group=") for link in links)
    compare = page.switch_page("pages/compare.py").run()  # the sweep itself is no comparison: sizes would mix
    options = compare.selectbox(key="compare.group").options
    name = RunStore(home).study(study).name
    assert options and not any(name in option for option in options), (name, options)


def test_one_unfinished_sweep_per_visitor_and_cancel_the_rest(page, home):
    _fill(page, "16,32", fixed="epochs=200; n_train=3000").button(key="sweep.queue_button").click().run()
    try:
        assert_clean(page)
        _fill(page, "64").button(key="sweep.queue_button").click().run()
        assert "still has 4 cells queued or training; one visitor may run one sweep at a time" in page.error[0].value
        page.button(key="sweep.cancel_button").click().run()
        store = RunStore(home)
        wait_until(lambda: set(store.runs()["status"]) == {"cancelled"}, TRAINING_TIMEOUT, "the cells to stop")
    finally:
        _cancel_everything(home)
    assert len(RunStore(home).runs()) == 4
